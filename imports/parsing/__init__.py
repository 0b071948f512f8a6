"""Turn an uploaded CSV file into lead field dicts: decoding, layout detection, row conversion."""

from imports.parsing.layouts import Layout, detect_layout
from imports.parsing.reading import (
    CsvRejected,
    CsvShape,
    RawBatch,
    csv_records,
    inspect_csv,
    raw_batches,
)
from imports.parsing.rows import ConvertedBatch, ConvertedRow, RowConverter

__all__ = [
    "ConvertedBatch",
    "ConvertedRow",
    "CsvRejected",
    "CsvShape",
    "Layout",
    "RawBatch",
    "RowConverter",
    "csv_records",
    "detect_layout",
    "inspect_csv",
    "raw_batches",
]

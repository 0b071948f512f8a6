"""Turn an uploaded CSV file into lead field dicts: decoding, layout detection, row conversion."""

from imports.parsing.layouts import Layout, detect_layout
from imports.parsing.reading import CsvRejected, CsvShape, csv_records, inspect_csv
from imports.parsing.rows import ConvertedBatch, ConvertedRow, RowConverter

__all__ = [
    "ConvertedBatch",
    "ConvertedRow",
    "CsvRejected",
    "CsvShape",
    "Layout",
    "RowConverter",
    "csv_records",
    "detect_layout",
    "inspect_csv",
]

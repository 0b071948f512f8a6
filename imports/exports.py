"""errors.csv: every row an import rejected, as it was in the file, spreadsheet-safe."""

import csv
import io
import os
from collections.abc import AsyncIterator

from django.db.models import QuerySet

from imports.models import ImportJob, ImportRowError
from leads.exports import neutralise

ROWS_PER_CHUNK = 500


def errors_filename(job: ImportJob) -> str:
    stem = os.path.splitext(job.file_name)[0].replace('"', "").replace("/", "-")
    return f"{stem or 'import'} errors.csv"


async def error_csv_chunks(
    header: list[str], errors: QuerySet[ImportRowError]
) -> AsyncIterator[str]:
    """Yield `line,error,` plus the file's columns, then one row per rejected row, BOM first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "error", *header])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    rows = 0
    async for error in errors.aiterator(chunk_size=2000):
        writer.writerow(neutralise(cell) for cell in [error.line, error.message, *error.columns])
        rows += 1
        if rows % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()

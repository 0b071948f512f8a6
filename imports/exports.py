"""errors.csv: every row an import rejected, as it was in the file, spreadsheet-safe."""

import os
from collections.abc import AsyncIterator

from django.db.models import QuerySet

from imports.models import ImportJob, ImportRowError
from leads.exports import spreadsheet_csv


def errors_filename(job: ImportJob) -> str:
    stem = os.path.splitext(job.file_name)[0].replace('"', "").replace("/", "-")
    return f"{stem or 'import'} errors.csv"


def error_csv_chunks(header: list[str], errors: QuerySet[ImportRowError]) -> AsyncIterator[str]:
    """Stream `line,error,` plus the file's columns, then one row per rejected row."""

    async def rows() -> AsyncIterator[list[object]]:
        async for error in errors.aiterator(chunk_size=2000):
            yield [error.line, error.message, *error.columns]

    return spreadsheet_csv(["line", "error", *header], rows())

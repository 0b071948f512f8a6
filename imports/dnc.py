"""Read a do-not-call upload: the import's CSV reading and phone-column detection, reused.

The list itself lives in `leads.dnc`; this module only turns a file into (line, phone, reason)
rows for `dnc_numbers_add`, so `leads` never reads CSV and never imports `imports`.
"""

import os
from typing import BinaryIO, cast

from django.core.files.uploadedfile import UploadedFile

from imports.parsing import CsvRejected, csv_records, detect_layout, inspect_csv
from imports.parsing.layouts import UnknownColumns, column_key

REASON_HEADER = "reason"
PHONE_HEADERS = "Phone, Phone Number, Mobile, Cell, Telephone, primaryPhone"


class DncFileRejected(ValueError):
    """The file cannot be read as a do-not-call list; the message says why."""


def dnc_upload_rows(*, upload: UploadedFile) -> list[tuple[int, str, str]]:
    """Return (line, phone cell, reason) for every data row of `upload`.

    The phone column is whichever header the import recognises as a phone; an optional
    `reason` column gives each row's reason, else the file's name does. Raise DncFileRejected
    when the file is not CSV or has no phone column.
    """
    file_name = os.path.basename(upload.name or "")[:100] or "an upload"
    try:
        shape = inspect_csv(cast(BinaryIO, upload))
        records = csv_records(
            cast(BinaryIO, upload), encoding=shape.encoding, delimiter=shape.delimiter
        )
        _, header = next(records)
        try:
            layout = detect_layout(header)
            phone = next(column.index for column in layout.columns if column.field == "phone")
        except (UnknownColumns, StopIteration):
            found = ", ".join(name.strip()[:60] for name in header[:30] if name.strip())
            raise DncFileRejected(
                f"No phone column found. Expected one of: {PHONE_HEADERS}. "
                f"Found: {found or 'no column names'}."
            ) from None
        keys = [column_key(name) for name in header]
        reason = keys.index(REASON_HEADER) if REASON_HEADER in keys else None
        default_reason = f"Listed from {file_name}"
        rows = []
        for line, cells in records:
            value = cells[phone].strip() if phone < len(cells) else ""
            given = cells[reason].strip() if reason is not None and reason < len(cells) else ""
            rows.append((line, value, given or default_reason))
        return rows
    except CsvRejected as error:
        raise DncFileRejected(str(error)) from None

"""Imports the agent steers: a preview of the file, a run with the agent's column mapping (or a
dry run of it), and the mappings saved for a vendor's header. docs/imports.md, CONTRACT §6.
"""

import os
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, BinaryIO, cast

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from imports.models import ImportJob, ImportMapping, ImportStatus
from imports.parsing import CsvRejected, RowConverter, csv_records, inspect_csv
from imports.parsing.layouts import (
    API_NAME_BY_FIELD,
    FIELD_BY_API_NAME,
    IGNORE,
    KEEP,
    ColumnSuggestion,
    detect_layout,
    header_key,
    layout_from_choices,
    suggest_columns,
)
from imports.selectors import import_mapping_for_header
from imports.services import UploadTooLarge, import_dry_run, import_enqueue, import_store
from leads.errors import InvalidInput

SAMPLE_ROWS = 10
KEY_FIELDS = ("phone", "email")


def import_preview(*, tenant: User, upload: UploadedFile) -> tuple[ImportJob, dict]:
    """Check and store `upload` as an import in preview; return it and what the preview shows.

    A file whose columns are not recognised is kept too: the agent maps them. No lead is written.
    """
    from django.conf import settings

    file_name = os.path.basename(upload.name or "")[:255]
    if not file_name.lower().endswith(".csv"):
        raise InvalidInput({"file": [f"Upload a .csv file (got {file_name or 'no name'!r})."]})
    if (upload.size or 0) > settings.IMPORT_MAX_BYTES:
        raise UploadTooLarge()
    try:
        shape = inspect_csv(cast(BinaryIO, upload))
    except CsvRejected as error:
        raise InvalidInput({"file": [str(error)]}) from None
    saved = import_mapping_for_header(tenant=tenant, header=shape.header)
    suggestions = suggest_columns(shape.header, learned=saved.choices() if saved else None)
    choices = [suggestion.choice for suggestion in suggestions]
    layout = layout_from_choices(shape.header, choices)
    job = import_store(
        tenant=tenant,
        upload=upload,
        file_name=file_name,
        shape=shape,
        layout=layout,
        status=ImportStatus.PREVIEW,
    )
    job.columns = choices  # the suggestions, until the run settles the mapping
    job.mapping_name = saved.name if saved else ""
    job.save(update_fields=["columns", "mapping_name"])
    upload.seek(0)
    sample = _sample(upload, shape.encoding, shape.delimiter, layout)
    preview = {
        "encoding": shape.encoding,
        "delimiter": shape.delimiter,
        "rows": shape.data_rows,
        "columns": [_column(suggestion) for suggestion in suggestions],
        "sample": sample,
        "mappingName": job.mapping_name or None,
    }
    return job, preview


def _column(suggestion: ColumnSuggestion) -> dict[str, Any]:
    return {
        "header": suggestion.header,
        "field": suggestion.field,
        "confidence": suggestion.confidence,
        "reason": suggestion.reason,
        # What a run does with the column when the mapping leaves it out: a field, keep, ignore
        "suggestion": suggestion.choice,
    }


def _sample(upload: Any, encoding: str, delimiter: str, layout: Any) -> list[dict[str, Any]]:
    cleaned: dict[int, str] = {}
    records = csv_records(upload, encoding=encoding, delimiter=delimiter, cleaned=cleaned)
    next(records, None)
    rows = list(islice(records, SAMPLE_ROWS))
    converter = RowConverter(layout, today=timezone.localdate(), cleaned=cleaned)
    batch = converter.convert_batch(rows)
    sample = []
    for row, (line, cells) in enumerate(rows):
        problems = list(batch.warnings.get(row, []))
        if row in batch.errors:
            problems.insert(0, batch.errors[row])
        sample.append(
            {
                "line": line,
                "cells": cells,
                "lead": {
                    API_NAME_BY_FIELD.get(name, _camel(name)): _plain(value)
                    for name, value in batch.fields(row).items()
                },
                "problems": problems,
            }
        )
    return sample


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def import_steer_run(
    *,
    job: ImportJob,
    mapping: dict[str, str],
    dry_run: bool,
    save_mapping_as: str = "",
) -> tuple[ImportJob, dict[str, int] | None]:
    """Run (or with `dry_run`, try) an import in preview with the agent's `mapping`.

    Return the job and, for a dry run, the counts the run would report. Raise InvalidInput
    naming the problem with the mapping; the job stays in preview until a real run.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.PREVIEW:
            raise InvalidInput(
                {"import": [f"The import is {job.status}, not in preview: it cannot run again."]}
            )
        choices = _resolve(job.header, list(job.columns), mapping)
        job.columns = settled_columns(job.header, choices)
        # Hand-made: not what the layout detection alone does with this header (the agent's
        # changes, or fuzzy guesses they accepted). A learned mapping is not learned again.
        hand_made = bool(job.columns) and not job.mapping_name
        if dry_run:
            return job, import_dry_run(job=job)
        job.vendor = layout_from_choices(job.header, choices).vendor
        if hand_made or save_mapping_as:
            name = save_mapping_as or job.file_name
            import_mapping_save(
                tenant_id=job.tenant_id, name=name, header=job.header, choices=choices
            )
            job.mapping_name = name[:255]
        elif job.mapping_name:
            saved = ImportMapping.objects.filter(
                tenant_id=job.tenant_id, header_key=header_key(job.header)
            ).first()
            if saved is not None:
                saved.used()
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["columns", "vendor", "mapping_name", "status"])
        import_enqueue(job=job)
    return job, None


def settled_columns(header: list[str], choices: list[str]) -> list[str]:
    """The columns a job stores: none (read by the layout detection, exactly as an upload is)
    when the choices are what the detection does, else the choices."""
    try:
        detected = detect_layout(header)
    except ValueError:
        return choices
    return [] if detected.choices() == choices else choices


def _resolve(header: list[str], suggested: list[str], mapping: dict[str, str]) -> list[str]:
    """Return the choice per column: the agent's where given, else the preview's suggestion."""
    errors: dict[str, str] = {}
    known = set(header)
    for name, choice in mapping.items():
        if name not in known:
            errors[name] = f"no column is named {name!r} in this file"
        elif choice not in FIELD_BY_API_NAME and choice not in (KEEP, IGNORE):
            errors[name] = f"{choice!r} is not a lead field, 'keep' or 'ignore'"
    if errors:
        raise InvalidInput({"mapping": errors})
    choices = [mapping.get(name, suggested[index]) for index, name in enumerate(header)]
    given = [name in mapping for name in header]
    columns_by_field: dict[str, list[int]] = {}
    for index, choice in enumerate(choices):
        if choice not in (KEEP, IGNORE):
            columns_by_field.setdefault(choice, []).append(index)
    for field_name, indexes in columns_by_field.items():
        # Two columns the layout detection itself puts on one field (Phone, then Mobile) are
        # read as today: the second fills in where the first is blank. The agent's may not.
        if len(indexes) > 1 and any(given[index] for index in indexes):
            named = ", ".join(repr(header[index]) for index in indexes)
            errors[field_name] = f"{field_name} is mapped from more than one column ({named})"
    if errors:
        raise InvalidInput({"mapping": errors})
    if not any(choice in KEY_FIELDS for choice in choices):
        raise InvalidInput(
            {"mapping": ["No column is mapped to phone or email; a lead needs one of them."]}
        )
    return choices


def import_mapping_save(
    *, tenant_id: int, name: str, header: list[str], choices: list[str]
) -> ImportMapping:
    """Save (or replace) the tenant's mapping for this header."""
    saved, _ = ImportMapping.objects.update_or_create(
        tenant_id=tenant_id,
        header_key=header_key(header),
        defaults={
            "name": name[:255],
            "headers": header,
            "mapping": {name_: choice for name_, choice in zip(header, choices, strict=True)},
            "last_used_at": timezone.now(),
        },
    )
    return saved


def import_mapping_delete(*, mapping: ImportMapping) -> None:
    mapping.delete()


def import_preview_discard(*, job: ImportJob) -> None:
    """Forget the stored file of a preview that will not run (kept for tests and cleanup)."""
    if job.storage_name:
        default_storage.delete(job.storage_name)

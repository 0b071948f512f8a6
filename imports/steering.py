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
from imports.parsing.dates import DATE_ORDERS
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
from imports.services import (
    UploadTooLarge,
    import_dry_run,
    import_enqueue,
    import_store,
    job_date_orders,
)
from leads.errors import InvalidInput
from leads.normalize import MONTH_FIRST

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
        learned_date_order=saved.date_order if saved else "",
    )
    job.columns = choices  # the suggestions, until the run settles the mapping
    job.mapping_name = saved.name if saved else ""
    job.save(update_fields=["columns", "mapping_name"])
    upload.seek(0)
    sample = _sample(upload, shape.encoding, shape.delimiter, layout, job_date_orders(job))
    preview = {
        "encoding": shape.encoding,
        "delimiter": shape.delimiter,
        "rows": shape.data_rows,
        "columns": [
            {**_column(suggestion), **_date_order(job, shape, index)}
            for index, suggestion in enumerate(suggestions)
        ],
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


def _date_order(job: ImportJob, shape: Any, index: int) -> dict[str, Any]:
    """The order the run reads the column's day/month/year dates in (null: it holds none),
    and whether no date in the file tells it (then month-first, or the order learned)."""
    order = (job.date_orders or {}).get(str(index))
    evidence = shape.date_evidence.get(index)
    return {
        "dateOrder": order,
        "dateOrderAssumed": order is not None and (evidence is None or evidence.assumed),
    }


def _sample(
    upload: Any,
    encoding: str,
    delimiter: str,
    layout: Any,
    date_orders: dict[int, str] | None,
) -> list[dict[str, Any]]:
    cleaned: dict[int, str] = {}
    records = csv_records(upload, encoding=encoding, delimiter=delimiter, cleaned=cleaned)
    next(records, None)
    rows = list(islice(records, SAMPLE_ROWS))
    converter = RowConverter(
        layout, today=timezone.localdate(), cleaned=cleaned, date_orders=date_orders
    )
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
    date_order: str = "",
) -> tuple[ImportJob, dict[str, int] | None]:
    """Run (or with `dry_run`, try) an import in preview with the agent's `mapping`, reading
    the DOB column in `date_order` (dmy or mdy) if given, else in the order the file tells.

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
        order_chosen = _choose_date_order(job, choices, date_order)
        # Hand-made: not what the layout detection alone does with this header (the agent's
        # changes, or fuzzy guesses they accepted), or a date order the agent switched.
        # A learned mapping is not learned again.
        hand_made = (bool(job.columns) or order_chosen) and not job.mapping_name
        if dry_run:
            return job, import_dry_run(job=job)
        job.vendor = layout_from_choices(job.header, choices).vendor
        if hand_made or save_mapping_as:
            name = save_mapping_as or job.file_name
            import_mapping_save(
                tenant_id=job.tenant_id,
                name=name,
                header=job.header,
                choices=choices,
                date_order=_dob_order(job, choices),
            )
            job.mapping_name = name[:255]
        elif job.mapping_name:
            saved = ImportMapping.objects.filter(
                tenant_id=job.tenant_id, header_key=header_key(job.header)
            ).first()
            if saved is not None:
                saved.used()
                if order_chosen:
                    saved.date_order = date_order
                    saved.save(update_fields=["date_order"])
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["columns", "vendor", "mapping_name", "status", "date_orders"])
        import_enqueue(job=job)
    return job, None


def _dob_columns(choices: list[str]) -> list[int]:
    return [index for index, choice in enumerate(choices) if choice == API_NAME_BY_FIELD["dob"]]


def _choose_date_order(job: ImportJob, choices: list[str], date_order: str) -> bool:
    """Read the DOB columns in the agent's `date_order`, if given; return whether it changes
    the order the file tells (or no date in it tells)."""
    if not date_order:
        return False
    if date_order not in DATE_ORDERS:
        allowed = " or ".join(repr(order) for order in DATE_ORDERS)
        raise InvalidInput({"dateOrder": [f"{date_order!r} is not a date order: {allowed}."]})
    orders = dict(job.date_orders or {})
    changed = False
    for index in _dob_columns(choices):
        changed = changed or orders.get(str(index), MONTH_FIRST) != date_order
        orders[str(index)] = date_order
    job.date_orders = orders
    return changed


def _dob_order(job: ImportJob, choices: list[str]) -> str:
    """The order the DOB column is read in, as a saved mapping remembers it ('' if none)."""
    orders = job.date_orders or {}
    for index in _dob_columns(choices):
        if (order := orders.get(str(index))) in DATE_ORDERS:
            return order
    return ""


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
    *, tenant_id: int, name: str, header: list[str], choices: list[str], date_order: str = ""
) -> ImportMapping:
    """Save (or replace) the tenant's mapping for this header, with the order of its DOB
    column."""
    saved, _ = ImportMapping.objects.update_or_create(
        tenant_id=tenant_id,
        header_key=header_key(header),
        defaults={
            "name": name[:255],
            "headers": header,
            "mapping": {name_: choice for name_, choice in zip(header, choices, strict=True)},
            "date_order": date_order,
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

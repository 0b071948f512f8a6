"""Writes of imports: accept an upload (`import_start`) and turn its rows into leads (`import_run`).

The upload is checked whole before anything is stored (encoding, CSV structure, a phone or email
column), kept in the default storage so any worker can read it, and deleted when the run ends.
The run streams the file: a background thread parses and normalises the next batch while this
one is merged and written, so Python and the database work at the same time.
"""

import gc
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from itertools import islice
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.parsing import (
    ConvertedBatch,
    CsvRejected,
    RowConverter,
    csv_records,
    detect_layout,
    inspect_csv,
)
from imports.parsing.layouts import UnknownColumns
from imports.serializers import import_resource
from leads.bulk import (
    IMPORTED,
    SKIPPED,
    UPDATED,
    LeadColumns,
    LeadKeys,
    lead_bulk_prepare,
    lead_bulk_upsert,
    lead_statistics_refresh,
)
from leads.events import send_to_tenant_on_commit

logger = logging.getLogger(__name__)

MAX_LISTED = 100
PROGRESS_INTERVAL_SECONDS = 0.25
PREFETCHED_BATCHES = 1
STATS_FIELDS = ["processed", "imported", "updated", "skipped", "failed"]
PROGRESS_FIELDS = [*STATS_FIELDS, "errors", "warnings", "warning_count"]

T = TypeVar("T")


class UploadTooLarge(APIException):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self) -> None:
        limit_mb = settings.IMPORT_MAX_BYTES / (1024 * 1024)
        super().__init__(f"The file is over the {limit_mb:g} MB import limit.")


def import_start(*, tenant: AbstractBaseUser, upload: UploadedFile) -> ImportJob:
    """Check `upload`, store it and queue its import into `tenant`; return the queued job.

    Raise ValidationError when the file cannot be imported at all, UploadTooLarge over the limit.
    """
    file_name = os.path.basename(upload.name or "")[:255]
    if not file_name.lower().endswith(".csv"):
        raise ValidationError({"file": [f"Upload a .csv file (got {file_name or 'no name'!r})."]})
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise UploadTooLarge()
    try:
        shape = inspect_csv(upload)
        layout = detect_layout(shape.header)
    except (CsvRejected, UnknownColumns) as error:
        raise ValidationError({"file": [str(error)]}) from None

    upload.seek(0)
    storage_name = default_storage.save(f"imports/{uuid.uuid4().hex}.csv", upload)
    try:
        job = ImportJob.objects.create(
            tenant=tenant,
            file_name=file_name,
            file_size=upload.size,
            storage_name=storage_name,
            vendor=layout.vendor,
            encoding=shape.encoding,
            delimiter=shape.delimiter,
            header=layout.header,
            total_rows=shape.data_rows,
        )
    except BaseException:
        default_storage.delete(storage_name)
        raise
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: ImportJob) -> None:
    from imports.tasks import import_run_task  # the task module imports this one

    try:
        import_run_task.delay(job.pk)
    except Exception:
        logger.exception("import %s could not be queued", job.pk)
        _delete_upload(job)
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
            status=ImportStatus.FAILED,
            failure="The import could not be queued; please upload the file again.",
            storage_name="",
            finished_at=timezone.now(),
        )


class ImportProgress:
    """Save the job's counters and tell the uploader, at most once per `interval` seconds."""

    def __init__(
        self,
        job: ImportJob,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        self.job = job
        self._clock = clock
        self._interval = interval
        self._last_sent: float | None = None

    def advance(self) -> None:
        now = self._clock()
        if self._last_sent is not None and now - self._last_sent < self._interval:
            return
        self._last_sent = now
        self.job.save(update_fields=PROGRESS_FIELDS)
        self._announce("import_progress")

    def finish(self) -> None:
        self._announce("import_finished")

    def _announce(self, event_type: str) -> None:
        send_to_tenant_on_commit(
            self.job.tenant_id, {"type": event_type, "import": import_resource(self.job)}
        )


def import_run(*, job: ImportJob, clock: Callable[[], float] = time.monotonic) -> ImportJob:
    """Import the stored file of a queued `job` into its tenant, then delete the file.

    Whatever happens, the job ends done or failed and the uploader hears `import_finished`.
    """
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    job.status = ImportStatus.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    progress = ImportProgress(job, clock=clock)
    try:
        with default_storage.open(job.storage_name, "rb") as stored, collector_paused():
            _import_rows(job, stored, progress)
        job.status = ImportStatus.DONE
    except CsvRejected as error:
        job.status = ImportStatus.FAILED
        job.failure = str(error)
        _record_errors(job, [ImportRowError(job=job, line=error.line or 0, message=str(error))])
    except Exception:
        logger.exception("import %s failed", job.pk)
        job.status = ImportStatus.FAILED
        job.failure = "The import stopped on an unexpected error; rows before it were kept."
    finally:
        _delete_upload(job)
        job.storage_name = ""
        job.finished_at = timezone.now()
        if job.status == ImportStatus.RUNNING:  # interrupted by something not an Exception
            job.status = ImportStatus.FAILED
        job.save()
        progress.finish()
    return job


def _delete_upload(job: ImportJob) -> None:
    if not job.storage_name:
        return
    try:
        default_storage.delete(job.storage_name)
    except Exception:
        logger.exception("import %s: could not delete %s", job.pk, job.storage_name)


def _import_rows(job: ImportJob, stored: Any, progress: ImportProgress) -> None:
    cleaned: dict[int, str] = {}  # line → the control characters its record lost
    records = csv_records(stored, encoding=job.encoding, delimiter=job.delimiter, cleaned=cleaned)
    header = next(records, None)
    if header is None:
        raise CsvRejected("The file has no header row.")
    layout = detect_layout(header[1])
    converter = RowConverter(layout, today=timezone.localdate(), cleaned=cleaned)
    batch_size = settings.IMPORT_BATCH_SIZE
    # Tenant and owner are the uploader's, whatever the file says.
    owner = {"tenant_id": job.tenant_id, "source": layout.source, "assigned_to_id": job.tenant_id}

    def converted_batches() -> Iterator[tuple[ConvertedBatch, LeadColumns]]:
        while batch := converter.convert_batch(list(islice(records, batch_size))):
            leads = batch.usable_leads()
            lead_bulk_prepare(leads, **owner)
            yield batch, leads

    keys = LeadKeys.for_tenant(job.tenant_id)
    with _prefetched(converted_batches()) as batches:
        for batch, leads in batches:
            with _batch_transaction():
                _store_batch(job, batch, leads, owner=owner, keys=keys)
                progress.advance()
            if job.imported:
                lead_statistics_refresh(tenant_id=job.tenant_id, known_leads=job.imported)


@contextmanager
def _batch_transaction() -> Iterator[None]:
    """Run one batch in one transaction that commits without waiting for the WAL flush.

    A crash may lose the last batches' commits (never half a batch) but not a finished import:
    the job is marked done by an ordinary commit, which flushes the WAL written before it.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        yield


def _store_batch(
    job: ImportJob,
    batch: ConvertedBatch,
    leads: LeadColumns,
    *,
    owner: dict[str, Any],
    keys: LeadKeys | None = None,
) -> None:
    """Store the usable `leads` of `batch` and count what became of its records."""
    result = lead_bulk_upsert(rows=leads, keys=keys, **owner)
    batch.reject_usable(result.refused)
    job.processed += len(batch)
    job.imported += result.count(IMPORTED)
    job.updated += result.count(UPDATED)
    job.skipped += result.count(SKIPPED)
    job.failed += len(batch.errors)
    rejected = [
        ImportRowError(
            job=job, line=batch.lines[row], message=message, columns=batch.rejected_cells[row]
        )
        for row, message in batch.errors.items()
    ]
    if rejected:
        _record_errors(job, rejected)
    for row, warnings in batch.warnings.items():
        for warning in warnings:
            job.warning_count += 1
            if len(job.warnings) < MAX_LISTED:
                job.warnings.append({"line": batch.lines[row], "message": warning})


def _record_errors(job: ImportJob, errors: list[ImportRowError]) -> None:
    ImportRowError.objects.bulk_create(errors, batch_size=500)
    for error in errors[: MAX_LISTED - len(job.errors)]:
        job.errors.append({"line": error.line, "message": error.message})


class _CollectorPause:
    """Pause Python's cyclic garbage collector while any import runs in this process.

    An import allocates millions of short-lived containers (a list per CSV record, a dict per
    lead's vendor data), none in a cycle, and every collection they trigger walks them all for
    nothing: 1.4 s of CPU in a 110,000-row import (bench/csv_import.py). Reference counting
    still frees them; the collector resumes when the last running import ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._imports = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if not self._imports:
                self._resume = gc.isenabled()
                gc.disable()
            self._imports += 1
        try:
            yield
        finally:
            with self._lock:
                self._imports -= 1
                if not self._imports and self._resume:
                    gc.enable()


collector_paused = _CollectorPause()


class _Finished:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


@contextmanager
def _prefetched(items: Iterator[T], depth: int = PREFETCHED_BATCHES) -> Iterator[Iterator[T]]:
    """Run `items` in a background thread, at most `depth` ahead of the consumer."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_Finished())
        except BaseException as error:  # handed to the consumer, which raises it
            put(_Finished(error))

    def consume() -> Iterator[T]:
        while True:
            item = handoff.get()
            if isinstance(item, _Finished):
                if item.error is not None:
                    raise item.error
                return
            yield item

    producer = threading.Thread(target=produce, name="import-parser", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        stop.set()
        producer.join()

"""Writes of imports: accept an upload (`import_start`) and turn its rows into leads (`import_run`).

The upload is checked whole before anything is stored (encoding, CSV structure, a phone or email
column), kept in the default storage so any worker can read it, and deleted when the run ends.
The run streams the file: a background thread parses and normalises the next batch while this
one is merged and written, so Python and the database work at the same time.

A run owns its job through a lease in the database (`lease_owner`, `lease_expires_at`), renewed
by a heartbeat, not through the broker's redelivery timer. Each batch commits its leads, its
rejected rows and the job's counters (the checkpoint) in one transaction, fenced by the lease:
a run that lost its lease writes nothing more. A job whose lease expired (its worker died) is
taken by the next run, which resumes after the checkpoint. docs/durability.md tells the story.
"""

import gc
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, BinaryIO, TypeVar, cast

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from imports import metrics
from imports.models import ImportJob, ImportLeadRecord, ImportRowError, ImportStatus
from imports.parsing import (
    ConvertedBatch,
    CsvRejected,
    RowConverter,
    csv_records,
    detect_layout,
    inspect_csv,
    raw_batches,
)
from imports.parsing.dates import column_date_orders
from imports.parsing.layouts import Layout, UnknownColumns, layout_from_choices
from imports.priority import yield_to_hot_work
from imports.selectors import import_mapping_for_header
from imports.serializers import import_resource
from leads.bulk import (
    IMPORTED,
    SKIPPED,
    UPDATED,
    LeadKeys,
    PreparedLeads,
    lead_bulk_prepare,
    lead_bulk_upsert,
    lead_statistics_refresh,
)
from leads.errors import InvalidInput, TooLarge
from leads.events import send_to_tenant_on_commit

logger = logging.getLogger(__name__)

MAX_LISTED = 100
PROGRESS_INTERVAL_SECONDS = 0.25
PREFETCHED_BATCHES = 1
STATS_FIELDS = ["processed", "imported", "updated", "skipped", "failed", "do_not_call"]
PROGRESS_FIELDS = [*STATS_FIELDS, "errors", "warnings", "warning_count"]
# The lease owner of a job queued again by `import_leases_recover`: any run may take it.
LEASE_REQUEUED = "requeued"
# A batch that loses a deadlock or a serialization conflict is rolled back and run again.
BATCH_CONFLICT_ATTEMPTS = 8
CONFLICT_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
DATABASE_AWAY = (OperationalError, InterfaceError)

T = TypeVar("T")

# imports.tasks.import_run_task's name: queued by name, so that the task module imports this one
# and not the other way round. Registered, the task still runs eagerly without a broker.
IMPORT_RUN_TASK = "imports.run"


def _run_queue(job_id: int) -> None:
    current_app.signature(IMPORT_RUN_TASK, args=[job_id]).delay()


class UploadTooLarge(TooLarge):
    def __init__(self) -> None:
        limit_mb = settings.IMPORT_MAX_BYTES / (1024 * 1024)
        super().__init__(f"The file is over the {limit_mb:g} MB import limit.")


def import_start(*, tenant: User, upload: UploadedFile) -> ImportJob:
    """Check `upload`, store it and queue its import into `tenant`; return the queued job.

    Raise InvalidInput when the file cannot be imported at all, UploadTooLarge over the limit.
    """
    file_name = os.path.basename(upload.name or "")[:255]
    if not file_name.lower().endswith(".csv"):
        raise InvalidInput({"file": [f"Upload a .csv file (got {file_name or 'no name'!r})."]})
    if (upload.size or 0) > settings.IMPORT_MAX_BYTES:
        raise UploadTooLarge()
    try:
        shape = inspect_csv(cast(BinaryIO, upload))
        # A header the agent mapped before is read as they mapped it (docs/imports.md).
        saved = import_mapping_for_header(tenant=tenant, header=shape.header)
        if saved is not None:
            columns = saved.choices()
            layout = layout_from_choices(shape.header, columns)
        else:
            columns, layout = [], detect_layout(shape.header)
    except (CsvRejected, UnknownColumns) as error:
        raise InvalidInput({"file": [str(error)]}) from None

    job = import_store(
        tenant=tenant,
        upload=upload,
        file_name=file_name,
        shape=shape,
        layout=layout,
        learned_date_order=saved.date_order if saved is not None else "",
    )
    if saved is not None:
        ImportJob.objects.filter(pk=job.pk).update(columns=columns, mapping_name=saved.name)
        saved.used()
    transaction.on_commit(lambda: _enqueue(job))
    return job


def import_store(
    *,
    tenant: User,
    upload: UploadedFile,
    file_name: str,
    shape: Any,
    layout: Layout,
    status: str = ImportStatus.QUEUED,
    learned_date_order: str = "",
) -> ImportJob:
    """Keep the checked `upload` in the default storage and create its job, with the order of
    its date columns (the file's; `learned_date_order` where no date in the file tells)."""
    date_orders = column_date_orders(
        shape.date_evidence,
        learned=learned_date_order,
        dob_columns=[column.index for column in layout.columns if column.kind == "dob"],
    )
    upload.seek(0)
    storage_name = default_storage.save(f"imports/{uuid.uuid4().hex}.csv", upload)
    try:
        return ImportJob.objects.create(
            tenant=tenant,
            file_name=file_name,
            file_size=upload.size or 0,
            storage_name=storage_name,
            vendor=layout.vendor,
            encoding=shape.encoding,
            delimiter=shape.delimiter,
            header=layout.header,
            total_rows=shape.data_rows,
            status=status,
            date_orders=date_orders,
        )
    except BaseException:
        default_storage.delete(storage_name)
        raise


def import_enqueue(*, job: ImportJob) -> None:
    """Queue the run of a job that was created in preview, once this transaction commits."""
    transaction.on_commit(lambda: _enqueue(job))


def job_layout(job: ImportJob, header: list[str]) -> Layout:
    """The layout a job reads its file with: the agent's mapping, else the detected one."""
    if job.columns:
        return layout_from_choices(header, job.columns)
    return detect_layout(header)


def job_date_orders(job: ImportJob) -> dict[int, str] | None:
    """The order of the job's date columns by index, for RowConverter."""
    if job.date_orders is None:
        return None
    return {int(index): order for index, order in job.date_orders.items()}


def _enqueue(job: ImportJob) -> None:
    """Queue the job's run; if the broker refuses, undo the upload and let the error answer 503.

    Nothing is kept of an import that could not be queued: the agent is told to retry
    (crokodial.outages turns the broker's error into 503 + Retry-After), not handed a job that
    failed for a reason that was never theirs.
    """
    try:
        _run_queue(job.pk)
    except Exception:
        logger.exception("import %s could not be queued; the upload is undone", job.pk)
        _delete_upload(job)
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).delete()
        raise


class ImportProgress:
    """Tell the uploader how far the import is, at most once per `interval` seconds.

    The counters themselves are saved with every batch (the checkpoint), not here.
    """

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
        self._announce("import_progress")

    def finish(self) -> None:
        self._announce("import_finished")

    def _announce(self, event_type: str) -> None:
        send_to_tenant_on_commit(
            self.job.tenant_id, {"type": event_type, "import": import_resource(self.job)}
        )


class ImportInterrupted(Exception):
    """The database went away during the run; the job keeps its checkpoint and runs again."""


class LeaseLost(Exception):
    """Another run holds the job now: this one stops and writes nothing more."""


def lease_owner_name() -> str:
    """Name one run: which host and process, and which run in it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until(seconds: float | None = None) -> ExpressionWrapper:
    seconds = settings.IMPORT_LEASE_SECONDS if seconds is None else seconds
    # The database's clock, so that workers on several machines agree on it.
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def import_claim(*, job_id: int, owner: str) -> ImportJob | None:
    """Take the lease of an unfinished job nobody holds a live lease on; return it, or None."""
    claimable = Q(lease_owner="") | Q(lease_owner=LEASE_REQUEUED) | Q(lease_expires_at__lt=Now())
    taken = ImportJob.objects.filter(
        claimable, pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
    ).update(
        status=ImportStatus.RUNNING,
        lease_owner=owner,
        lease_expires_at=_lease_until(),
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", Now()),
    )
    return ImportJob.objects.get(pk=job_id) if taken else None


def import_run(
    *, job: ImportJob, clock: Callable[[], float] = time.monotonic, owner: str = ""
) -> ImportJob:
    """Import the stored file of an unfinished `job` into its tenant, then delete the file.

    Take the job's lease first: if another run holds a live one, do nothing. Resume after the
    last committed batch. Unless the lease is lost or the database goes away (ImportInterrupted:
    run again later), the job ends done or failed and the uploader hears `import_finished`.
    """
    owner = owner or lease_owner_name()
    claimed = import_claim(job_id=job.pk, owner=owner)
    if claimed is None:
        job.refresh_from_db()
        return job
    job = claimed
    logger.info(
        "import_started",
        extra={"import_id": job.pk, "tenant": job.tenant_id, "attempt": job.attempts},
    )
    progress = ImportProgress(job, clock=clock)
    failure: CsvRejected | str | None = None
    if job.attempts > settings.IMPORT_MAX_ATTEMPTS:
        job.status = ImportStatus.FAILED
        failure = f"The import was interrupted {job.attempts - 1} times; rows before it were kept."
        _import_finish(job, owner=owner, failure=failure, progress=progress)
        return job
    try:
        with (
            default_storage.open(job.storage_name, "rb") as stored,
            collector_paused(),
            _Heartbeat(job.pk, owner) as heartbeat,
        ):
            _import_rows(job, stored, progress, owner=owner, heartbeat=heartbeat)
        job.status = ImportStatus.DONE
    except LeaseLost:
        logger.warning("import %s: lease lost to another run; this run stops", job.pk)
        return job
    except DATABASE_AWAY as error:
        logger.warning("import %s interrupted, will resume: %s", job.pk, error)
        _lease_release(job, owner)
        raise ImportInterrupted(str(error)) from error
    except CsvRejected as error:
        job.status = ImportStatus.FAILED
        failure = error
    except Exception:
        logger.exception("import %s failed", job.pk)
        job.status = ImportStatus.FAILED
        failure = "The import stopped on an unexpected error; rows before it were kept."
    except BaseException:
        _lease_release(job, owner)  # stopped, not failed: the next run resumes it
        raise
    _import_finish(job, owner=owner, failure=failure, progress=progress)
    return job


def _import_finish(
    job: ImportJob, *, owner: str, failure: CsvRejected | str | None, progress: ImportProgress
) -> None:
    job.finished_at = timezone.now()
    with transaction.atomic():
        if isinstance(failure, CsvRejected):
            line = failure.line or 0
            job.failure = str(failure)
            if not ImportRowError.objects.filter(job=job, line=line, message=job.failure).exists():
                _record_errors(job, [ImportRowError(job=job, line=line, message=job.failure)])
        elif failure:
            job.failure = failure
        finished = ImportJob.objects.filter(pk=job.pk, lease_owner=owner).update(
            status=job.status,
            failure=job.failure,
            finished_at=job.finished_at,
            storage_name="",
            lease_owner="",
            lease_expires_at=None,
            **{name: getattr(job, name) for name in PROGRESS_FIELDS},
        )
    if not finished:
        return  # another run took the job meanwhile and will finish it
    _import_count(job)
    _delete_upload(job)  # only now: the job says done (or failed) for good
    job.storage_name = ""
    job.lease_owner, job.lease_expires_at = "", None
    progress.finish()


def _import_count(job: ImportJob) -> None:
    finished_at = job.finished_at or timezone.now()
    seconds = (finished_at - job.started_at).total_seconds() if job.started_at else 0.0
    metrics.IMPORTS.labels(job.status).inc()
    for outcome in ("imported", "updated", "skipped", "failed"):
        metrics.ROWS.labels(outcome).inc(getattr(job, outcome))
    metrics.IMPORT_SECONDS.observe(seconds)
    logger.info(
        "import_finished",
        extra={
            "import_id": job.pk,
            "tenant": job.tenant_id,
            "status": job.status,
            "seconds": round(seconds, 3),
            "attempts": job.attempts,
            **{name: getattr(job, name) for name in STATS_FIELDS},
        },
    )


def _lease_release(job: ImportJob, owner: str) -> None:
    """Let the next run take the job at once (if the database answers; else the lease expires)."""
    try:
        ImportJob.objects.filter(pk=job.pk, lease_owner=owner).update(
            lease_owner=LEASE_REQUEUED, lease_expires_at=Now()
        )
    except DatabaseError:
        logger.warning("import %s: lease not released; it expires by itself", job.pk)


def import_leases_recover() -> list[int]:
    """Queue again every unfinished import whose run died (its lease expired) or that no worker
    ever took; return their ids. Safe to run anywhere, any number of times at once."""
    stale = Q(lease_expires_at__lt=Now()) | Q(
        status=ImportStatus.QUEUED,
        lease_owner="",
        created_at__lt=Now() - timedelta(seconds=settings.IMPORT_QUEUED_GRACE_SECONDS),
    )
    with transaction.atomic():
        job_ids = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(stale, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING])
            .values_list("pk", flat=True)[:100]
        )
        if not job_ids:
            return []
        # A reservation any run may take; queued again if none does within two leases.
        ImportJob.objects.filter(pk__in=job_ids).update(
            lease_owner=LEASE_REQUEUED,
            lease_expires_at=_lease_until(2 * settings.IMPORT_LEASE_SECONDS),
        )
        transaction.on_commit(lambda: _enqueue_ids(job_ids))
    logger.warning("imports %s: lease expired or never taken; queued again", job_ids)
    return job_ids


def _enqueue_ids(job_ids: list[int]) -> None:
    for job_id in job_ids:
        try:
            _run_queue(job_id)
        except Exception:  # the reservation expires and the next check queues it again
            logger.exception("import %s could not be queued again", job_id)


class _Heartbeat:
    """Renew a run's lease every IMPORT_HEARTBEAT_SECONDS from a thread of its own.

    `lost` is set once another run holds the lease; the run stops before its next batch (and
    the fenced checkpoint stops it anyway).
    """

    def __init__(self, job_id: int, owner: str) -> None:
        self.job_id = job_id
        self.owner = owner
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="import-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.IMPORT_HEARTBEAT_SECONDS):
                try:
                    mine = ImportJob.objects.filter(pk=self.job_id, lease_owner=self.owner)
                    if not mine.update(lease_expires_at=_lease_until()):
                        # Invisible (an uncommitted test transaction) is not lost.
                        taken = ImportJob.objects.filter(pk=self.job_id).exclude(
                            lease_owner=self.owner
                        )
                        if taken.exists():
                            self.lost.set()
                            return
                except DatabaseError:
                    close_old_connections()  # the batches will see the outage too
        finally:
            connection.close()


def _delete_upload(job: ImportJob) -> None:
    if not job.storage_name:
        return
    try:
        default_storage.delete(job.storage_name)
    except Exception:
        logger.exception("import %s: could not delete %s", job.pk, job.storage_name)


def _converted_batches(
    job: ImportJob, stored: Any
) -> tuple[dict[str, Any], Iterator[tuple[ConvertedBatch, PreparedLeads]]]:
    """Return the owner of the job's leads and its file's batches after the checkpoint."""
    cleaned: dict[int, str] = {}  # line → the control characters its record lost
    records = csv_records(stored, encoding=job.encoding, delimiter=job.delimiter, cleaned=cleaned)
    header = next(records, None)
    if header is None:
        raise CsvRejected("The file has no header row.")
    layout = job_layout(job, header[1])
    converter = RowConverter(
        layout, today=timezone.localdate(), cleaned=cleaned, date_orders=job_date_orders(job)
    )
    batch_size = settings.IMPORT_BATCH_SIZE
    # Tenant and owner are the uploader's, whatever the file says.
    lead_owner: dict[str, Any] = {
        "tenant_id": job.tenant_id,
        "source": layout.source,
        "assigned_to_id": job.tenant_id,
    }
    records.close()

    def converted_batches() -> Iterator[tuple[ConvertedBatch, PreparedLeads]]:
        # Resuming: the records up to the checkpoint are stored, with their counts and errors.
        for raw in raw_batches(
            stored,
            encoding=job.encoding,
            delimiter=job.delimiter,
            width=len(layout.header),
            batch_size=batch_size,
            skip=job.processed,
            cleaned=cleaned,
        ):
            batch = converter.convert_batch(raw)
            yield batch, lead_bulk_prepare(batch.usable_leads(), **lead_owner)

    return lead_owner, converted_batches()


class _DryRunDone(Exception):
    """Raised to roll back everything a dry run wrote."""


def import_dry_run(*, job: ImportJob) -> dict[str, int]:
    """Run the job's file through the real write path in a transaction that is rolled back;
    return the counts the run would report.

    The very code of a run stores each batch (`_store_batch`), so the counts are the run's
    own, including any counter a later change adds to it (docs/imports.md).
    """
    trial = ImportJob(
        pk=job.pk, tenant_id=job.tenant_id, encoding=job.encoding, delimiter=job.delimiter,
        columns=job.columns, header=job.header, errors=[], warnings=[],
        date_orders=job.date_orders,
    )  # fmt: skip
    try:
        with transaction.atomic(), default_storage.open(job.storage_name, "rb") as stored:
            lead_owner, batches = _converted_batches(trial, stored)
            keys = LeadKeys.for_tenant(job.tenant_id)
            for batch, leads in batches:
                _store_batch(trial, batch, leads, owner=lead_owner, keys=keys)
            raise _DryRunDone()
    except _DryRunDone:
        pass
    counts = {name: getattr(trial, name) for name in STATS_FIELDS if name != "processed"}
    # The do-not-call count, once imports keep one (CONTRACT §7): same counter, same path.
    counts["doNotCall"] = getattr(trial, "do_not_call", 0)
    return counts


def _import_rows(
    job: ImportJob, stored: Any, progress: ImportProgress, *, owner: str, heartbeat: _Heartbeat
) -> None:
    lead_owner, converted = _converted_batches(job, stored)
    keys = LeadKeys.for_tenant(job.tenant_id)
    with _prefetched(converted) as batches:
        for batch, leads in batches:
            yield_to_hot_work()  # fast-path leads first (imports/priority.py)
            if heartbeat.lost.is_set():
                raise LeaseLost()
            _store_checkpointed(job, batch, leads, owner=owner, lead_owner=lead_owner, keys=keys)
            progress.advance()
            if job.imported:
                lead_statistics_refresh(tenant_id=job.tenant_id, known_leads=job.imported)


def _store_checkpointed(
    job: ImportJob,
    batch: ConvertedBatch,
    leads: PreparedLeads,
    *,
    owner: str,
    lead_owner: dict[str, Any],
    keys: LeadKeys,
) -> None:
    """Store one batch and the job's counters in one transaction, if this run holds the lease.

    A batch that loses a deadlock or serialization conflict (two imports into one tenant, an
    import against webhook traffic) is rolled back whole and run again.
    """
    before = _checkpoint_of(job)
    for attempt in range(1, BATCH_CONFLICT_ATTEMPTS + 1):
        try:
            with _batch_transaction():
                _store_batch(job, batch, leads, owner=lead_owner, keys=keys)
                fenced = ImportJob.objects.filter(pk=job.pk, lease_owner=owner)
                if not fenced.update(
                    lease_expires_at=_lease_until(),
                    **{name: getattr(job, name) for name in PROGRESS_FIELDS},
                ):
                    raise LeaseLost()
            return
        except OperationalError as error:
            _checkpoint_restore(job, before)
            if attempt == BATCH_CONFLICT_ATTEMPTS or not _is_conflict(error):
                raise
            logger.info("import %s: batch lost a conflict (%s); running it again", job.pk, error)
            time.sleep(random.uniform(0, 0.05 * attempt))
        except BaseException:
            _checkpoint_restore(job, before)
            raise


@contextmanager
def _batch_transaction() -> Iterator[None]:
    """Run one batch in one transaction that commits without waiting for the WAL flush.

    A crash may lose the last batches' commits (never half a batch, and never a batch without
    its checkpoint) but not a finished import: the job is marked done by an ordinary commit,
    which flushes the WAL written before it.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        yield


def _is_conflict(error: DatabaseError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in CONFLICT_SQLSTATES


def _checkpoint_of(job: ImportJob) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, list) else value
        for name in PROGRESS_FIELDS
        for value in [getattr(job, name)]
    }


def _checkpoint_restore(job: ImportJob, checkpoint: dict[str, Any]) -> None:
    for name, value in checkpoint.items():
        setattr(job, name, list(value) if isinstance(value, list) else value)


def _store_batch(
    job: ImportJob,
    batch: ConvertedBatch,
    leads: PreparedLeads,
    *,
    owner: dict[str, Any],
    keys: LeadKeys | None = None,
) -> None:
    """Store the usable `leads` of `batch` and count what became of its records, and record
    what it did to leads for undo (imports.undo)."""
    result = lead_bulk_upsert(rows=leads, keys=keys, record=True, **owner)
    if result.created_ids or result.replaced:
        ImportLeadRecord.objects.create(
            job_id=job.pk,
            created_ids=result.created_ids,
            replaced=[
                [change.lead_id, change.written_at.isoformat(), change.old, change.new]
                for change in result.replaced
            ],
        )
    batch.reject_usable(result.refused)
    job.processed += len(batch)
    job.imported += result.count(IMPORTED)
    job.updated += result.count(UPDATED)
    job.skipped += result.count(SKIPPED)
    job.do_not_call += result.do_not_call
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

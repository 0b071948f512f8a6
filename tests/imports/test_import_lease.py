"""An import is run by one worker at a time, through a lease in the database, and a run that
dies is resumed from its last committed batch with the counts of an uninterrupted run."""

import csv
import io
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

import imports.services
from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.services import import_leases_recover, import_run, import_start
from imports.tasks import import_run_task
from leads.models import Lead
from tests.imports.conftest import csv_upload
from tests.server import ROOT

pytestmark = pytest.mark.django_db

STATS = ["processed", "imported", "updated", "skipped", "failed", "warning_count"]
TIMEOUT = 120  # a ceiling for a thread's import, not a measured delay


def generated_csv(directory: Path, rows: int) -> bytes:
    """A messy NextGen export (duplicates, premium rows, invalid rows) from the bench generator."""
    path = directory / f"nextgen_{rows}.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "generate_nextgen_csv.py"), str(path),
             "--rows", str(rows)],
            check=True, capture_output=True,
        )  # fmt: skip
    return path.read_bytes()


def queued_job(tenant, content: bytes, django_capture_on_commit_callbacks) -> ImportJob:
    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet run
        return import_start(tenant=tenant, upload=csv_upload(content))


def outcome(job: ImportJob) -> dict:
    job.refresh_from_db()
    errors = list(ImportRowError.objects.filter(job=job).values_list("line", "message"))
    return {
        "status": job.status,
        "stats": {name: getattr(job, name) for name in STATS},
        "errors": sorted(errors),
        "listed": job.errors,
        "leads": Lead.objects.filter(tenant=job.tenant).count(),
    }


class WorkerDied(BaseException):
    """Stands for SIGKILL in-process: nothing after it runs but `finally` blocks."""


@pytest.fixture
def small_batches(settings):
    settings.IMPORT_BATCH_SIZE = 200


def test_a_task_for_a_job_another_worker_holds_does_nothing(
    agent, tmp_path, django_capture_on_commit_callbacks
):
    job = queued_job(agent, generated_csv(tmp_path, 300), django_capture_on_commit_callbacks)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        lease_owner="worker-a:1:abc",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    import_run_task.apply(args=[job.pk])  # the broker handed the task out again

    job.refresh_from_db()
    assert (job.status, job.processed, job.lease_owner) == (
        ImportStatus.RUNNING, 0, "worker-a:1:abc",
    )  # fmt: skip
    assert Lead.objects.count() == 0
    assert import_leases_recover() == []  # a live lease is left alone


def test_a_finished_job_is_not_run_again(agent, tmp_path, django_capture_on_commit_callbacks):
    job = queued_job(agent, generated_csv(tmp_path, 300), django_capture_on_commit_callbacks)
    import_run(job=job)
    before = outcome(job)

    import_run_task.apply(args=[job.pk])

    assert outcome(job) == before
    assert before["status"] == ImportStatus.DONE


def test_a_job_whose_worker_died_is_resumed_with_the_counts_of_an_uninterrupted_run(
    agent, other_agent, tmp_path, small_batches, monkeypatch, django_capture_on_commit_callbacks
):
    content = generated_csv(tmp_path, 2000)
    reference = queued_job(other_agent, content, django_capture_on_commit_callbacks)
    import_run(job=reference)
    job = queued_job(agent, content, django_capture_on_commit_callbacks)

    batches = []

    def die_after_the_fourth_batch(**kwargs) -> None:
        batches.append(kwargs)
        if len(batches) == 4:
            raise WorkerDied()

    monkeypatch.setattr(imports.services, "lead_statistics_refresh", die_after_the_fourth_batch)
    with pytest.raises(WorkerDied):
        import_run(job=job)
    monkeypatch.undo()
    job.refresh_from_db()
    assert (job.status, job.processed) == (ImportStatus.RUNNING, 800)  # four batches committed
    # As after a SIGKILL: the lease is still the dead run's, until it expires.
    ImportJob.objects.filter(pk=job.pk).update(
        lease_owner="dead-worker:1:abc", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert import_leases_recover() == [job.pk]  # ... which queues and runs it

    resumed, expected = outcome(job), outcome(reference)
    assert resumed["status"] == ImportStatus.DONE
    assert resumed["stats"] == expected["stats"]
    assert resumed["stats"]["processed"] == 2000
    assert resumed["errors"] == expected["errors"]  # each rejected row once
    assert resumed["listed"] == expected["listed"]
    assert resumed["leads"] == expected["leads"]
    job.refresh_from_db()
    assert (job.attempts, job.lease_owner, job.storage_name) == (2, "", "")


def test_a_job_that_keeps_killing_its_workers_fails_after_its_attempts(
    agent, settings, tmp_path, django_capture_on_commit_callbacks
):
    job = queued_job(agent, generated_csv(tmp_path, 300), django_capture_on_commit_callbacks)
    ImportJob.objects.filter(pk=job.pk).update(attempts=settings.IMPORT_MAX_ATTEMPTS)

    import_run(job=job)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "interrupted" in job.failure


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_keys_in_opposite_orders_both_finish(
    agent, other_agent, tmp_path, small_batches
):
    content = generated_csv(tmp_path, 3000)
    header, *records = csv.reader(io.StringIO(content.decode(), newline=""))
    reversed_text = io.StringIO(newline="")
    csv.writer(reversed_text).writerows([header, *reversed(records)])
    reversed_content = reversed_text.getvalue().encode()
    reference = import_start(tenant=other_agent, upload=csv_upload(content))
    jobs = [
        import_start(tenant=agent, upload=csv_upload(content)),
        import_start(tenant=agent, upload=csv_upload(reversed_content)),
    ]
    problems: list[BaseException] = []

    def run(job: ImportJob) -> None:
        try:
            import_run(job=job)
        except BaseException as error:
            problems.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=[job]) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)

    assert problems == []
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.failure, job.processed) == (ImportStatus.DONE, "", 3000)
    assert Lead.objects.filter(tenant=agent).count() == outcome(reference)["leads"]

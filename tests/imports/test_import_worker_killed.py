"""A real worker SIGKILLed in the middle of a large import: the import finishes anyway, with the
counts of an uninterrupted run, no duplicate lead and no duplicate error row."""

import os
import signal
from pathlib import Path

import pytest
from django.db.models import Count

from crokodial.celery import app as celery_app
from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.services import import_run, import_start
from leads.models import Lead
from tests.helpers import wait_for
from tests.imports.conftest import csv_upload
from tests.imports.test_import_lease import STATS, generated_csv
from tests.server import celery_worker, shared_database_env

ROWS = 60_000
TIMEOUT = 180  # a ceiling for each expected step, not a measured delay


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_is_killed_finishes_with_true_counts(
    agent, other_agent, tmp_path, settings, media_root
):
    content = generated_csv(tmp_path, ROWS)
    settings.IMPORT_BATCH_SIZE = 2000
    reference = import_start(tenant=other_agent, upload=csv_upload(content))
    import_run(job=reference)
    reference.refresh_from_db()
    env = shared_database_env(
        MEDIA_ROOT=str(media_root),
        IMPORT_BATCH_SIZE="2000",
        IMPORT_LEASE_SECONDS="3",
        IMPORT_LEASE_CHECK_SECONDS="1",
        # Long enough that only the lease, not the broker, brings the import back.
        CELERY_VISIBILITY_TIMEOUT="3600",
    )
    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    celery_app.control.purge()

    job = import_start(tenant=agent, upload=csv_upload(content))
    progressing = ImportJob.objects.filter(pk=job.pk, processed__gte=ROWS // 4)
    with celery_worker(env, concurrency=4) as worker:
        assert wait_for(progressing.exists, TIMEOUT), Path(worker.log_path).read_text()[-3000:]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING
    assert 0 < job.processed < ROWS

    with celery_worker(env, concurrency=4) as worker:
        finished = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.DONE)
        assert wait_for(finished.exists, TIMEOUT), Path(worker.log_path).read_text()[-3000:]

    job.refresh_from_db()
    assert {name: getattr(job, name) for name in STATS} == {
        name: getattr(reference, name) for name in STATS
    }
    assert job.processed == ROWS
    assert job.attempts == 2
    assert job.errors == reference.errors
    leads = Lead.objects.filter(tenant=agent)
    assert leads.count() == Lead.objects.filter(tenant=other_agent).count()
    assert not leads.values("phone").exclude(phone="").annotate(n=Count("id")).filter(n__gt=1)
    errors = ImportRowError.objects.filter(job=job)
    assert errors.count() == ImportRowError.objects.filter(job=reference).count()
    assert not errors.values("line").annotate(n=Count("id")).filter(n__gt=1)
    assert not list((media_root / "imports").iterdir())  # the upload is gone once done

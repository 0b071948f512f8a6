"""The Procfile's `worker:` runs a Celery worker per kind of work, and they live and die as one."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crokodial.celery import app as celery_app
from imports.models import ImportJob, ImportStatus
from imports.services import import_start
from leads.models import Lead
from tests.helpers import wait_for
from tests.server import ROOT, shared_database_env
from webhooks.tasks import nextgen_lead_persist

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60  # a ceiling for the workers to start and finish the work, not a measured delay


def _procfile_worker_command() -> str:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("worker:")
    )
    # The line's `python` is the one this suite runs under (the project's dependencies).
    return line.removeprefix("worker:").strip().replace(" python ", f" {sys.executable} ", 1)


def _descendants(pid: int) -> set[int]:
    found, queue = set(), [pid]
    while queue:
        parent = queue.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split()
            found.update(int(child) for child in children)
            queue.extend(int(child) for child in children)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _niceness_by_queue(pids: set[int]) -> dict[str, int]:
    found = {}
    for pid in pids:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"--queues" in command:
            queues = command[command.index(b"--queues") + 1].decode()
            found[queues] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    return found


def test_the_procfile_worker_takes_leads_and_imports_and_dies_whole(agent, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path  # the upload goes where the workers look for it
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        **shared_database_env(MEDIA_ROOT=str(tmp_path), PROMETHEUS_MULTIPROC_DIR=str(tmp_path)),
    }
    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    celery_app.control.purge()
    body = {"lead_id": "WORKERS-1", "phone": "210-557-0001", "email": "workers@example.com"}
    nextgen_lead_persist.apply_async(args=[agent.pk, body, "trace-w", "stub-w", time.time()])
    with open(os.devnull, "wb") as quiet:
        launcher = subprocess.Popen(
            ["sh", "-c", f"exec env {_procfile_worker_command()}"],
            cwd=ROOT,
            env=env,
            stdout=quiet,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        upload = SimpleUploadedFile("w.csv", b"Phone\n2105570002\n", content_type="text/csv")
        job = import_start(tenant=agent, upload=upload)

        assert wait_for(Lead.objects.filter(tenant=agent, nextgen_id="WORKERS-1").exists, TIMEOUT)
        assert wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, TIMEOUT
        ), ImportJob.objects.get(pk=job.pk).status
        workers = _descendants(launcher.pid)
        assert len([pid for pid in workers if _alive(pid)]) >= 2
        # The imports worker yields the CPU to the leads worker when both want it.
        niceness = _niceness_by_queue(workers)
        assert niceness["imports,celery"] > niceness["leads"], niceness

        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        assert wait_for(lambda: not any(_alive(pid) for pid in workers), 15)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()

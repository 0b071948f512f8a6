"""CONTRACT §8: `manage.py fast_path on|off|status` flips every running web process."""

import json
import subprocess
import sys
import tempfile
import time
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from prometheus_client.multiprocess import MultiProcessCollector

from crokodial.celery import app as celery_app
from tests.factories import make_agent
from tests.helpers import nextgen_credentials
from tests.server import ROOT, live_server, shared_database_env
from webhooks.models import FastPathChange
from webhooks.switch import fast_path_enabled

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
SWITCH_SECONDS = 5  # CONTRACT §8: every web process follows a flip within this
CALLS = 20


def _status() -> str:
    out = StringIO()
    call_command("fast_path", "status", stdout=out)
    return out.getvalue().strip()


def test_status_follows_use_fast_path_until_someone_flips_it(settings):
    settings.USE_FAST_PATH = True
    assert _status() == "on"
    settings.USE_FAST_PATH = False
    assert _status() == "off"


def test_the_command_flips_the_switch_and_records_who_and_when(settings):
    settings.USE_FAST_PATH = False

    call_command("fast_path", "on", stdout=StringIO(), stderr=StringIO())

    assert fast_path_enabled() is True
    assert _status() == "on"
    change = FastPathChange.objects.get()
    assert change.enabled is True
    assert change.changed_by.startswith("manage.py fast_path on")
    assert change.changed_at is not None

    call_command("fast_path", "off", stdout=StringIO(), stderr=StringIO())

    assert _status() == "off"
    assert list(FastPathChange.objects.values_list("enabled", flat=True)) == [False, True]


def test_staff_flip_the_switch_in_the_admin_and_their_name_is_recorded(settings):
    settings.USE_FAST_PATH = False
    staff = Client()
    staff.force_login(make_agent("ops", is_admin=True))

    response = staff.post("/admin/webhooks/fastpathchange/add/", {"enabled": "on"})

    assert response.status_code == HTTPStatus.FOUND
    assert fast_path_enabled() is True
    assert FastPathChange.objects.get().changed_by == "admin: ops"
    history = staff.get("/admin/webhooks/fastpathchange/")
    assert "Webhook fast path: on now" in history.content.decode()


def _flip(env: dict[str, str], state: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "fast_path", state],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "crokodial.settings", **env},
        check=True,
        capture_output=True,
    )


def _processes_that_answered(directory: str, outcome: str) -> set[str]:
    answered = set()
    for path in Path(directory).glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            for sample in family.samples:
                if (
                    sample.name == "crokodial_webhook_deliveries_total"
                    and sample.labels["outcome"] == outcome
                    and sample.value > 0
                ):
                    answered.add(path.stem)
    return answered


def _deliver_until(http: httpx.Client, headers: dict, body: dict, wanted: set[int]) -> list[int]:
    """Post until an answer in `wanted` comes (at most SWITCH_SECONDS), let every process reach
    the switch's bound, then post CALLS more on fresh connections; return those answers."""
    flipped_by = time.monotonic() + SWITCH_SECONDS
    while time.monotonic() < flipped_by:
        if http.post("/api/webhooks/nextgen", json=body, headers=headers).status_code in wanted:
            break
    time.sleep(max(0.0, flipped_by - time.monotonic()))
    return [
        http.post("/api/webhooks/nextgen", json=body, headers=headers).status_code
        for _ in range(CALLS)
    ]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_flip_reaches_both_web_processes_without_a_restart(agent):
    headers = nextgen_credentials(agent)
    body = json.loads((FIXTURES / "nextgen_data.json").read_text())
    celery_app.control.purge()
    with tempfile.TemporaryDirectory() as metrics_dir:
        env = shared_database_env(USE_FAST_PATH="0", PROMETHEUS_MULTIPROC_DIR=metrics_dir)
        with (
            live_server(env, procfile=True, workers=2) as base_url,
            httpx.Client(
                base_url=base_url, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)
            ) as http,
        ):
            before = http.post("/api/webhooks/nextgen", json=body, headers=headers).status_code
            _flip(env, "on")
            queued = _deliver_until(http, headers, body, {HTTPStatus.ACCEPTED})
            queued_by = _processes_that_answered(metrics_dir, "queued")
            _flip(env, "off")
            stored = _deliver_until(http, headers, body, {HTTPStatus.OK, HTTPStatus.CREATED})
        celery_app.control.purge()

    assert before == HTTPStatus.CREATED
    assert queued == [HTTPStatus.ACCEPTED] * CALLS
    assert len(queued_by) == 2, queued_by  # both web processes queued
    assert stored == [HTTPStatus.OK] * CALLS
    assert [change.enabled for change in FastPathChange.objects.order_by("id")] == [True, False]

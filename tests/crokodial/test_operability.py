"""Issue 14: the series an operator needs on /metrics, and log lines a search can filter."""

import json
import logging

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from crokodial.logs import JsonFormatter
from tests.factories import make_agent

pytestmark = pytest.mark.django_db

OPERATOR_SERIES = {
    "crokodial_webhook_deliveries",
    "crokodial_webhook_process_seconds",
    "crokodial_webhook_broadcast_seconds",
    "crokodial_webhook_stub_to_persisted_seconds",
    "crokodial_webhook_persisted",
    "crokodial_webhook_dead_letters",
    "crokodial_webhook_dead_letters_open",
    "crokodial_tasks",
    "crokodial_sockets_open",
    "crokodial_events_sent",
    "crokodial_events_failed",
    "crokodial_imports",
    "crokodial_import_rows",
    "crokodial_import_seconds",
}
# Per-process or per-tenant labels would make series without end.
FORBIDDEN_LABELS = {"tenant", "tenant_id", "pid", "host", "hostname", "instance"}


def _families() -> dict:
    staff = Client()
    staff.force_login(make_agent("ops", is_admin=True))
    text = staff.get("/metrics").content.decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_name_every_series_an_operator_watches():
    families = _families()

    assert set(families) >= OPERATOR_SERIES
    for name in OPERATOR_SERIES:
        for sample in families[name].samples:
            assert not FORBIDDEN_LABELS & set(sample.labels), (name, sample.labels)


@pytest.mark.redis
def test_metrics_tell_the_depth_and_age_of_each_queue_from_the_broker():
    families = _families()

    depths = {s.labels["queue"] for s in families["crokodial_queue_messages"].samples}
    ages = families["crokodial_queue_oldest_message_age_seconds"].samples
    assert depths == {"leads", "imports", "celery"}
    assert all(sample.value >= 0 for sample in ages)


def test_a_log_line_is_one_json_object_with_the_fields_given():
    record = logging.makeLogRecord(
        {"name": "crokodial.webhooks", "levelname": "INFO", "msg": "nextgen_delivery",
         "trace_id": "trace-1", "tenant": 7, "process_ms": 1.5}
    )  # fmt: skip

    line = JsonFormatter().format(record)

    assert "\n" not in line
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "INFO",
        "logger": "crokodial.webhooks",
        "message": "nextgen_delivery",
        "trace_id": "trace-1",
        "tenant": 7,
        "process_ms": 1.5,
    }

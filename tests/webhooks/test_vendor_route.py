"""The lean ASGI route that answers the webhook under a real server, before Django's handler."""

import json
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leads.models import Lead
from tests.server import live_server, shared_database_env
from webhooks.services import nextgen_credential_issue

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SAMPLE = json.loads((Path(__file__).parent / "fixtures" / "nextgen_data.json").read_text())
METRICS_TOKEN = "metrics-token-for-tests"


@pytest.fixture
def vendor(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)
    with (
        live_server(shared_database_env(METRICS_TOKEN=METRICS_TOKEN)) as base_url,
        httpx.Client(
            base_url=base_url, headers={"sid": credential.sid, "apikey": api_key}, timeout=20
        ) as client,
    ):
        yield client


def test_both_paths_store_and_answer_without_redirect(vendor, agent):
    first = vendor.post("/api/webhooks/nextgen", json=SAMPLE)
    again = vendor.post("/api/webhooks/nextgen/", json=SAMPLE)

    assert first.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.OK
    assert again.json()["leadId"] == first.json()["leadId"]
    assert float(first.headers["X-Process-Time"]) > 0
    assert first.headers["X-Request-ID"] == first.json()["traceId"]
    assert Lead.objects.filter(tenant=agent).count() == 1


def test_form_encoded_body_is_accepted(vendor, agent):
    answer = vendor.post("/api/webhooks/nextgen", data={"phone": "(210) 461-1180", "state": "TX"})

    assert answer.status_code == HTTPStatus.CREATED
    assert Lead.objects.get(tenant=agent).phone == "+12104611180"


def test_other_methods_are_refused(vendor):
    answer = vendor.get("/api/webhooks/nextgen")

    assert answer.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert answer.headers["Allow"] == "POST"


def test_a_streamed_body_over_1_mb_is_refused_and_stores_nothing(vendor):
    def chunks():
        yield b'{"phone": "2104611180", "notes": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    answer = vendor.post(
        "/api/webhooks/nextgen", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert answer.json()["success"] is False
    assert Lead.objects.count() == 0


def test_wrong_key_is_refused_through_the_lean_route(vendor):
    answer = vendor.post("/api/webhooks/nextgen", json=SAMPLE, headers={"apikey": "nope"})

    assert answer.status_code == HTTPStatus.UNAUTHORIZED
    assert Lead.objects.count() == 0


def _broadcasts_observed(vendor: httpx.Client) -> float:
    text = vendor.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "crokodial_webhook_broadcast_seconds_count":
                return sample.value
    raise AssertionError("no broadcast histogram on /metrics")


def test_each_published_event_is_timed_once_after_it_is_published(vendor):
    before = _broadcasts_observed(vendor)

    assert vendor.post("/api/webhooks/nextgen", json=SAMPLE).status_code == HTTPStatus.CREATED
    assert vendor.post("/api/webhooks/nextgen", json=SAMPLE).status_code == HTTPStatus.OK
    assert vendor.post("/api/webhooks/nextgen", json={}).status_code == HTTPStatus.BAD_REQUEST

    assert _broadcasts_observed(vendor) - before == 2

"""USE_FAST_PATH=1 (CONTRACT §4, §5): validate, queue, show a stub, answer 202; a worker stores."""

import json
import os
import signal
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.test import APIClient

from crokodial.asgi import application
from crokodial.queues import LEADS_QUEUE
from leads.errors import InvalidInput
from leads.events import tenant_events_held
from leads.models import Lead
from tests.helpers import nextgen_credentials, wait_for
from tests.server import celery_worker, live_server, shared_database_env
from webhooks.serializers import nextgen_payload_validate
from webhooks.services import NextGenDelivery, nextgen_credential_issue, nextgen_leads_receive
from webhooks.tasks import nextgen_lead_persist

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
TIMEOUT = 20  # a ceiling for each expected step, not a measured delay
# Enough threads that the worker stores several queued leads per transaction when it is killed.
WORKER_THREADS = 32


def sample(**overrides: Any) -> dict[str, Any]:
    return {**json.loads((FIXTURES / "nextgen_data.json").read_text()), **overrides}


@pytest.fixture
def fast_path(settings):
    settings.USE_FAST_PATH = True


@pytest.fixture
def credentials(agent) -> dict[str, str]:
    # As Django's test client takes headers: HTTP_SID, HTTP_APIKEY.
    return {f"HTTP_{name.upper()}": value for name, value in nextgen_credentials(agent).items()}


def post(body: dict, credentials: dict[str, str], **headers: str):
    return APIClient().post("/api/webhooks/nextgen", body, format="json", **credentials, **headers)


def test_flag_off_stores_the_lead_before_answering(credentials):
    answer = post(sample(), credentials)

    assert answer.status_code == HTTPStatus.CREATED
    assert answer.json()["isNew"] is True


def test_flag_on_answers_202_queued(fast_path, credentials):
    answer = post(sample(), credentials, HTTP_X_REQUEST_ID="trace-fast-1")

    assert answer.status_code == HTTPStatus.ACCEPTED
    assert answer.json() == {"success": True, "queued": True, "traceId": "trace-fast-1"}
    assert float(answer.headers["X-Process-Time"]) >= 0


def test_flag_on_still_refuses_bad_credentials_and_bodies(fast_path, credentials):
    wrong_key = {**credentials, "HTTP_APIKEY": "wrong"}

    assert post(sample(), wrong_key).status_code == HTTPStatus.UNAUTHORIZED
    assert post({"first_name": "No contact"}, credentials).status_code == HTTPStatus.BAD_REQUEST
    assert Lead.objects.count() == 0


def test_a_redelivered_task_stores_one_lead(agent):
    body = sample()
    for _ in range(2):
        nextgen_lead_persist.apply(
            args=[agent.pk, body, "trace-redelivered", "stub-1", time.time()]
        )

    assert Lead.objects.filter(tenant=agent).count() == 1


def _delivery(tenant, number: int, fixture: str = "nextgen_data.json") -> NextGenDelivery:
    body = {
        **json.loads((FIXTURES / fixture).read_text()),
        "lead_id": f"BATCH-{number}",
        "phone": f"210-555-{number:04d}",
        "email": f"batch{number}@example.com",
    }
    return NextGenDelivery(
        tenant_id=tenant.pk,
        fields=nextgen_payload_validate(body),
        trace_id=f"trace-{tenant.pk}-{number}-{fixture}",
        stub_id=f"stub-{tenant.pk}-{number}-{fixture}",
    )


def test_a_batch_follows_the_one_merge_rule_and_announces_each_lead_with_its_stub(
    agent, other_agent, django_capture_on_commit_callbacks
):
    nextgen_leads_receive(deliveries=[_delivery(agent, 1)])
    batch = [
        _delivery(agent, 1, "nextgen_ad.json"),  # the premium listing of a stored lead
        _delivery(agent, 2),
        _delivery(agent, 3),
        _delivery(agent, 3, "nextgen_ad.json"),  # ... of a lead earlier in the same batch
        _delivery(other_agent, 2),  # the same person, another tenant
        _delivery(agent, 4),
    ]

    with tenant_events_held() as events, django_capture_on_commit_callbacks(execute=True):
        nextgen_leads_receive(deliveries=batch)

    prices = dict(Lead.objects.filter(tenant=agent).values_list("nextgen_id", "price"))
    assert {name: str(price) for name, price in prices.items()} == {
        "BATCH-1": "57.50",
        "BATCH-2": "45.00",
        "BATCH-3": "57.50",
        "BATCH-4": "45.00",
    }
    assert Lead.objects.filter(tenant=other_agent).count() == 1
    announced = {payload["stubId"]: (tenant_id, payload) for tenant_id, payload, _ in events}
    assert sorted(announced) == sorted(delivery.stub_id for delivery in batch)
    for delivery in batch:
        tenant_id, payload = announced[delivery.stub_id]
        assert tenant_id == delivery.tenant_id
        assert payload["traceId"] == delivery.trace_id
        assert payload["lead"]["nextgenId"] == delivery.fields["nextgen_id"]
        assert payload["lead"]["tenantId"] == delivery.tenant_id
    assert [announced[d.stub_id][1]["type"] for d in batch] == [
        "lead_updated",
        "new_lead_notification",
        "new_lead_notification",
        "lead_updated",
        "new_lead_notification",
        "new_lead_notification",
    ]


def test_a_batch_that_cannot_store_one_lead_stores_none(agent):
    unmatched = _delivery(agent, 2)
    # Passed validation (it had a phone), but a NextGen id alone cannot make a lead.
    unmatched.fields.pop("phone")
    unmatched.fields.pop("email")

    with pytest.raises(InvalidInput), tenant_events_held() as events:
        nextgen_leads_receive(deliveries=[_delivery(agent, 1), unmatched, _delivery(agent, 3)])

    assert Lead.objects.filter(tenant=agent).count() == 0
    assert events == []


@pytest.mark.redis
def test_queued_lead_is_not_in_lists_or_exports_until_a_worker_stores_it(
    fast_path, credentials, agent_client, agent
):
    from crokodial.celery import app as celery_app

    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    nextgen_lead_persist.app.control.purge()

    answer = post(sample(), credentials)

    assert answer.status_code == HTTPStatus.ACCEPTED
    assert agent_client.get("/api/leads").json()["pagination"]["total"] == 0
    assert Lead.objects.filter(tenant=agent).count() == 0
    nextgen_lead_persist.app.control.purge()


@pytest.mark.redis
def test_the_queued_task_message_does_not_spell_out_the_lead(fast_path, credentials, agent):
    import redis
    from django.conf import settings

    from crokodial.celery import app as celery_app

    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    nextgen_lead_persist.app.control.purge()
    body = sample()

    answer = post(body, credentials, HTTP_X_REQUEST_ID="trace-private-1")

    assert answer.status_code == HTTPStatus.ACCEPTED
    queued = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange(LEADS_QUEUE, 0, -1)
    nextgen_lead_persist.app.control.purge()
    assert len(queued) == 1
    headers = json.loads(queued[0])["headers"]
    assert headers["task"] == nextgen_lead_persist.name
    assert "trace-private-1" in headers["argsrepr"]
    shown = headers["argsrepr"] + headers["kwargsrepr"]
    for private in (body["first_name"], body["last_name"], body["email"], body["phone"]):
        assert private not in shown


async def _socket_for(user) -> WebsocketCommunicator:
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, "/ws/leads/", headers=[(b"cookie", cookie), (b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_stub_then_persisted_event_share_the_stub_id_and_stay_in_the_tenant(
    settings, agent, other_agent
):
    settings.USE_FAST_PATH = True
    credential, api_key = await sync_to_async(nextgen_credential_issue)(tenant=agent)
    mine, theirs = await _socket_for(agent), await _socket_for(other_agent)
    try:
        answer = await sync_to_async(post)(
            sample(), {"HTTP_SID": credential.sid, "HTTP_APIKEY": api_key}
        )
        assert answer.status_code == HTTPStatus.ACCEPTED

        events = [await mine.receive_json_from(TIMEOUT), await mine.receive_json_from(TIMEOUT)]
        by_type = {event["type"]: event for event in events}
        stub, stored = by_type["lead_stub"], by_type["new_lead_notification"]
        assert stub["lead"] == {
            "name": "Maria Hernández",
            "phone": "+12104611180",
            "source": "NextGen",
            "nextgenId": "NG2026112500042",
        }
        assert stored["stubId"] == stub["stubId"]
        assert stored["traceId"] == stub["traceId"] == answer.json()["traceId"]
        assert stored["lead"]["phone"] == "+12104611180"
        assert stored["isNew"] is True
        assert await theirs.receive_nothing(timeout=0.5)
    finally:
        await mine.disconnect()
        await theirs.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_known_lead_replaces_its_stub_with_lead_updated(settings, agent):
    settings.USE_FAST_PATH = True
    credential, api_key = await sync_to_async(nextgen_credential_issue)(tenant=agent)
    headers = {"HTTP_SID": credential.sid, "HTTP_APIKEY": api_key}
    await sync_to_async(post)(sample(), headers)
    socket = await _socket_for(agent)
    try:
        await sync_to_async(post)(sample(), headers)
        events = [await socket.receive_json_from(TIMEOUT), await socket.receive_json_from(TIMEOUT)]
        by_type = {event["type"]: event for event in events}
        assert by_type["lead_updated"]["stubId"] == by_type["lead_stub"]["stubId"]
        assert await sync_to_async(Lead.objects.count)() == 1
    finally:
        await socket.disconnect()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_broker_down_answers_503_and_stores_nothing(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)
    env = shared_database_env(USE_FAST_PATH="1", REDIS_URL="redis://127.0.0.1:1/0")

    with live_server(env) as base_url:
        answer = httpx.post(
            f"{base_url}/api/webhooks/nextgen",
            json=sample(),
            headers={"sid": credential.sid, "apikey": api_key},
            timeout=TIMEOUT,
        )

    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["success"] is False
    assert Lead.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_stream_leaves_every_acknowledged_lead_stored_once(agent):
    from crokodial.celery import app as celery_app

    headers = nextgen_credentials(agent)
    env = shared_database_env(USE_FAST_PATH="1", CELERY_VISIBILITY_TIMEOUT="3")
    celery_app.control.purge()
    total, kill_at = 300, 150
    acknowledged = 0
    with (
        live_server(env) as base_url,
        httpx.Client(base_url=base_url, timeout=TIMEOUT) as vendor,
        celery_worker(env, concurrency=WORKER_THREADS) as worker,
    ):
        for number in range(total):
            body = sample(
                lead_id=f"CRASH-{number}",
                phone=f"210-555-{number:04d}",
                email=f"crash{number}@example.com",
            )
            answer = vendor.post("/api/webhooks/nextgen", json=body, headers=headers)
            acknowledged += answer.status_code == HTTPStatus.ACCEPTED
            if number == kill_at:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    assert acknowledged == total

    stored = Lead.objects.filter(tenant=agent, nextgen_id__startswith="CRASH-")
    with celery_worker(env, concurrency=WORKER_THREADS):
        # Tasks the killed worker had taken come back after the visibility timeout.
        assert wait_for(lambda: stored.count() >= total, 90), f"{stored.count()} of {total}"

    assert stored.count() == total
    assert stored.values("nextgen_id").distinct().count() == total


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_draining_a_backlog_leaves_each_lead_stored_once(agent):
    from crokodial.celery import app as celery_app

    env = shared_database_env(USE_FAST_PATH="1", CELERY_VISIBILITY_TIMEOUT="3")
    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    celery_app.control.purge()
    total = 2000
    for number in range(total):
        body = sample(
            lead_id=f"BACKLOG-{number}",
            phone=f"210-556-{number:04d}",
            email=f"backlog{number}@example.com",
        )
        nextgen_lead_persist.apply_async(
            args=[agent.pk, body, f"trace-{number}", f"stub-{number}", time.time()]
        )
    stored = Lead.objects.filter(tenant=agent, nextgen_id__startswith="BACKLOG-")

    # Batches are in flight while the worker drains a backlog: kill it in the middle of them.
    with celery_worker(env, concurrency=WORKER_THREADS) as worker:
        assert wait_for(stored.exists, TIMEOUT)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    with celery_worker(env, concurrency=WORKER_THREADS):
        assert wait_for(lambda: stored.count() >= total, 90), f"{stored.count()} of {total}"

    assert stored.count() == total
    assert stored.values("nextgen_id").distinct().count() == total

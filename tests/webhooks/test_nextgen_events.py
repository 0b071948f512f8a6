"""CONTRACT §5: a webhook delivery reaches its own agent's open dashboards, and nobody else's."""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from crokodial.asgi import application
from tests.factories import PASSWORD
from webhooks.services import nextgen_credential_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK = "/api/webhooks/nextgen"
ORIGIN = b"http://localhost"
TIMEOUT = 5  # a ceiling for an event that is expected, not a measured delay
QUIET = 0.5  # how long a socket must stay silent to count as "received nothing"
EVENT_KEYS = {"type", "lead", "isNew", "processMs", "traceId"}


def payload(name: str = "nextgen_data.json", **overrides: Any) -> dict[str, Any]:
    return {**json.loads((FIXTURES / name).read_text()), **overrides}


@pytest.fixture(params=["in_memory", pytest.param("redis", marks=pytest.mark.redis)])
def channel_layer(request, settings) -> str:
    """Run each test on the in-memory layer and, where REDIS_URL is set, on Redis."""
    if request.param == "redis":
        # A prefix of its own, so test runs sharing the Redis server cannot hear each other.
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [django_settings.REDIS_URL],
                    "prefix": f"webhook-events-{uuid.uuid4().hex[:8]}",
                },
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    expected = RedisChannelLayer if request.param == "redis" else InMemoryChannelLayer
    assert isinstance(get_channel_layer(), expected)
    return request.param


def _credentials(tenant: Any) -> dict[str, str]:
    credential, api_key = nextgen_credential_issue(tenant=tenant)
    return {"sid": credential.sid, "apikey": api_key}


@pytest.fixture
def credentials(agent) -> dict[str, str]:
    return _credentials(agent)


@pytest.fixture
def other_credentials(other_agent) -> dict[str, str]:
    return _credentials(other_agent)


def _session_cookie(user: Any) -> bytes:
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={browser.cookies[name].value}".encode()


@asynccontextmanager
async def dashboard(user: Any) -> AsyncIterator[WebsocketCommunicator]:
    """Log `user` in, open /ws/leads/ with the session cookie; always disconnect."""
    cookie = await sync_to_async(_session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/leads/", headers=[(b"cookie", cookie), (b"origin", ORIGIN)]
    )
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        yield communicator
    finally:
        await communicator.disconnect()


@sync_to_async
def deliver(body: Any, credentials: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        response = Client().post(
            WEBHOOK,
            body if isinstance(body, str) else json.dumps(body),
            content_type="application/json",
            headers=credentials,
        )
        return response.status_code, response.json()
    finally:
        connection.close()


@sync_to_async
def lead_as_the_api_shows_it(user: Any, lead_id: int) -> dict[str, Any]:
    try:
        api = APIClient()
        api.force_authenticate(user)
        response = api.get(f"/api/leads/{lead_id}")
        assert response.status_code == HTTPStatus.OK
        return response.json()
    finally:
        connection.close()


async def next_event(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout=TIMEOUT)


async def test_new_lead_is_pushed_to_its_agent_only(channel_layer, agent, other_agent, credentials):
    async with dashboard(agent) as mine, dashboard(other_agent) as theirs:
        status, answer = await deliver(payload(), credentials)
        assert status == HTTPStatus.CREATED

        event = await next_event(mine)

        assert set(event) == EVENT_KEYS
        assert event["type"] == "new_lead_notification"
        assert event["isNew"] is True
        assert event["traceId"] == answer["traceId"]
        assert isinstance(event["processMs"], int | float)
        assert event["processMs"] >= 0
        lead = event["lead"]
        assert lead == await lead_as_the_api_shows_it(agent, answer["leadId"])
        assert lead["id"] == answer["leadId"]
        assert lead["tenantId"] == agent.pk
        assert (lead["phone"], lead["phoneDisplay"]) == ("+12104611180", "(210) 461-1180")
        assert (lead["firstName"], lead["lastName"], lead["name"]) == (
            "Maria",
            "Hernández",
            "Maria Hernández",
        )
        assert (lead["nextgenId"], lead["source"], lead["timeZone"]) == (
            "NG2026112500042",
            "NextGen",
            "America/Chicago",
        )
        assert (lead["price"], lead["status"], lead["dob"]) == ("45.00", "New", "1980-03-15")
        assert await mine.receive_nothing(timeout=QUIET)
        assert await theirs.receive_nothing(timeout=QUIET)


async def test_redelivery_is_pushed_as_not_new(channel_layer, agent, credentials):
    async with dashboard(agent) as mine:
        _, first = await deliver(payload(), credentials)
        assert (await next_event(mine))["isNew"] is True

        status, again = await deliver(payload(), credentials)
        event = await next_event(mine)

        assert status == HTTPStatus.OK
        assert event["type"] == "new_lead_notification"
        assert event["isNew"] is False
        assert event["traceId"] == again["traceId"] != first["traceId"]
        assert event["lead"]["id"] == first["leadId"]
        assert await mine.receive_nothing(timeout=QUIET)


async def test_premium_listing_is_pushed_with_the_summed_price(channel_layer, agent, credentials):
    async with dashboard(agent) as mine:
        await deliver(payload(), credentials)
        await next_event(mine)

        _, answer = await deliver(payload("nextgen_ad.json"), credentials)
        event = await next_event(mine)

        assert event["traceId"] == answer["traceId"]
        assert event["isNew"] is False
        assert event["lead"]["price"] == "57.50"
        assert event["lead"]["notes"] == (
            "Premium listing applied: base $45.00 + premium $12.50 = $57.50"
        )


async def test_each_tenant_hears_only_its_own_copy_of_a_lead(
    channel_layer, agent, other_agent, credentials, other_credentials
):
    async with dashboard(agent) as mine, dashboard(other_agent) as theirs:
        _, their_answer = await deliver(payload(), other_credentials)

        their_event = await next_event(theirs)
        assert await mine.receive_nothing(timeout=QUIET)

        _, my_answer = await deliver(payload(), credentials)

        my_event = await next_event(mine)
        assert await theirs.receive_nothing(timeout=QUIET)
    assert their_event["isNew"] is my_event["isNew"] is True
    assert their_event["lead"]["tenantId"] == other_agent.pk
    assert my_event["lead"]["tenantId"] == agent.pk
    assert my_event["lead"]["id"] == my_answer["leadId"] != their_answer["leadId"]


@pytest.mark.parametrize(
    ("body", "use_credentials", "status"),
    [
        (payload(), False, HTTPStatus.UNAUTHORIZED),
        (payload(email="not-an-email"), True, HTTPStatus.BAD_REQUEST),
        ("[1, 2", True, HTTPStatus.BAD_REQUEST),
    ],
    ids=["bad credentials", "invalid field", "bad json"],
)
async def test_rejected_delivery_pushes_nothing(
    channel_layer, agent, credentials, body, use_credentials, status
):
    sent_with = credentials if use_credentials else {**credentials, "apikey": "wrong"}
    async with dashboard(agent) as mine:
        answer_status, answer = await deliver(body, sent_with)

        assert answer_status == status
        assert answer["success"] is False
        assert await mine.receive_nothing(timeout=QUIET)

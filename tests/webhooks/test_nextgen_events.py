"""CONTRACT §5: a webhook delivery reaches its own agent's open dashboards, and nobody else's."""

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from tests.helpers import dashboard_socket, nextgen_body

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK = "/api/webhooks/nextgen"
TIMEOUT = 5  # a ceiling for an event that is expected, not a measured delay
QUIET = 0.5  # how long a socket must stay silent to count as "received nothing"
EVENT_KEYS = {"type", "lead", "isNew", "processMs", "traceId"}


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
    async with dashboard_socket(agent) as mine, dashboard_socket(other_agent) as theirs:
        status, answer = await deliver(nextgen_body(), credentials)
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
    async with dashboard_socket(agent) as mine:
        _, first = await deliver(nextgen_body(), credentials)
        assert (await next_event(mine))["isNew"] is True

        status, again = await deliver(nextgen_body(), credentials)
        event = await next_event(mine)

        assert status == HTTPStatus.OK
        assert event["type"] == "new_lead_notification"
        assert event["isNew"] is False
        assert event["traceId"] == again["traceId"] != first["traceId"]
        assert event["lead"]["id"] == first["leadId"]
        assert await mine.receive_nothing(timeout=QUIET)


async def test_premium_listing_is_pushed_with_the_summed_price(channel_layer, agent, credentials):
    async with dashboard_socket(agent) as mine:
        await deliver(nextgen_body(), credentials)
        await next_event(mine)

        _, answer = await deliver(nextgen_body("nextgen_ad.json"), credentials)
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
    async with dashboard_socket(agent) as mine, dashboard_socket(other_agent) as theirs:
        _, their_answer = await deliver(nextgen_body(), other_credentials)

        their_event = await next_event(theirs)
        assert await mine.receive_nothing(timeout=QUIET)

        _, my_answer = await deliver(nextgen_body(), credentials)

        my_event = await next_event(mine)
        assert await theirs.receive_nothing(timeout=QUIET)
    assert their_event["isNew"] is my_event["isNew"] is True
    assert their_event["lead"]["tenantId"] == other_agent.pk
    assert my_event["lead"]["tenantId"] == agent.pk
    assert my_event["lead"]["id"] == my_answer["leadId"] != their_answer["leadId"]


@pytest.mark.parametrize(
    ("body", "use_credentials", "status"),
    [
        (nextgen_body(), False, HTTPStatus.UNAUTHORIZED),
        (nextgen_body(email="not-an-email"), True, HTTPStatus.BAD_REQUEST),
        ("[1, 2", True, HTTPStatus.BAD_REQUEST),
    ],
    ids=["bad credentials", "invalid field", "bad json"],
)
async def test_rejected_delivery_pushes_nothing(
    channel_layer, agent, credentials, body, use_credentials, status
):
    sent_with = credentials if use_credentials else {**credentials, "apikey": "wrong"}
    async with dashboard_socket(agent) as mine:
        answer_status, answer = await deliver(body, sent_with)

        assert answer_status == status
        assert answer["success"] is False
        assert await mine.receive_nothing(timeout=QUIET)

"""CONTRACT §7, §5: listing or unlisting a number tells the agent's open desks, and no other's."""

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from tests.factories import make_lead
from tests.helpers import dashboard_socket
from tests.leads import test_consumers
from tests.leads.test_consumers import ABSENCE_WINDOW, TIMEOUT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# The socket tests' fixtures (channel_layer, in tests/conftest.py, runs each test on every layer).
session_headers = test_consumers.session_headers


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


async def test_adding_and_removing_a_number_push_lead_updated_to_its_tenant_only(
    channel_layer, agent, other_agent, session_headers
):
    lead = await sync_to_async(make_lead)(agent, phone="+12104611180")
    await sync_to_async(make_lead)(other_agent, phone="+12104611180")
    alice = await sync_to_async(session_headers)(agent)
    bob = await sync_to_async(session_headers)(other_agent)
    client = _client_for(agent)

    async with dashboard_socket(alice) as desk, dashboard_socket(bob) as other_desk:
        added = await sync_to_async(client.post)(
            "/api/dnc", {"phone": "210 461 1180", "reason": "Asked"}, format="json"
        )
        event = await desk.receive_json_from(timeout=TIMEOUT)
        assert event["type"] == "lead_updated"
        assert (event["lead"]["id"], event["lead"]["doNotCall"]) == (lead.pk, True)

        await sync_to_async(client.post)(
            f"/api/dnc/{added.json()['id']}/remove", {"reason": "Consented"}, format="json"
        )
        event = await desk.receive_json_from(timeout=TIMEOUT)
        assert (event["type"], event["lead"]["doNotCall"]) == ("lead_updated", False)

        assert await other_desk.receive_nothing(timeout=ABSENCE_WINDOW)
        assert await desk.receive_nothing(timeout=ABSENCE_WINDOW)


async def test_a_number_already_listed_sends_nothing(channel_layer, agent, session_headers):
    await sync_to_async(make_lead)(agent, phone="+12104611180")
    client = _client_for(agent)
    body = {"phone": "2104611180", "reason": "Asked"}
    await sync_to_async(client.post)("/api/dnc", body, format="json")
    headers = await sync_to_async(session_headers)(agent)

    async with dashboard_socket(headers) as desk:
        await sync_to_async(client.post)("/api/dnc", body, format="json")

        assert await desk.receive_nothing(timeout=ABSENCE_WINDOW)

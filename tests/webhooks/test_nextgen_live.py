"""CONTRACT §4 and §5 end to end: the vendor posts to a real server process, and the agent's
real WebSocket, open on that server, hears about the lead."""

import asyncio
import json
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from leads.models import Lead
from tests.factories import PASSWORD
from tests.helpers import nextgen_credentials
from tests.server import live_server, shared_database_env
from webhooks.services import nextgen_credential_issue

# The server process must see the test's rows: it shares the test database (PostgreSQL) and
# carries its events through Redis, as in production.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).parent / "fixtures"
TIMEOUT = 10  # a ceiling for each expected step, not a measured delay


def sample(**overrides: Any) -> dict[str, Any]:
    return {**json.loads((FIXTURES / "nextgen_data.json").read_text()), **overrides}


def log_in(base_url: str, username: str) -> str:
    """Log in through the server's own login form; return the session cookie's value."""
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as browser:
        browser.get("/accounts/login/")
        response = browser.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies[settings.CSRF_COOKIE_NAME],
            },
        )
        assert response.status_code == HTTPStatus.FOUND, response.text
        return browser.cookies[settings.SESSION_COOKIE_NAME]


async def deliver_and_listen(
    base_url: str, session: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[httpx.Response, dict[str, Any]]:
    """With the agent's socket open, post `body`; return the answer and the event it caused."""
    socket_url = base_url.replace("http://", "ws://") + "/ws/leads/"
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
    async with connect(socket_url, additional_headers=cookie, origin=base_url) as socket:
        async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as vendor:
            answer = await vendor.post("/api/webhooks/nextgen", json=body, headers=headers)

        async def event_for_this_delivery() -> dict[str, Any]:
            while True:
                event = json.loads(await socket.recv())
                if event.get("traceId") == headers["X-Request-ID"]:
                    return event

        event = await asyncio.wait_for(event_for_this_delivery(), TIMEOUT)
    return answer, event


def test_posted_lead_reaches_the_agents_open_socket(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)
    body = sample()
    answers = []

    with live_server(shared_database_env()) as base_url:
        session = log_in(base_url, agent.username)
        for _ in range(2):
            headers = {
                "sid": credential.sid,
                "apikey": api_key,
                "X-Request-ID": f"live-{uuid.uuid4().hex}",
            }
            answers.append(asyncio.run(deliver_and_listen(base_url, session, headers, body)))

    (created, created_event), (again, again_event) = answers
    assert created.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.OK
    lead = Lead.objects.get()
    assert lead.tenant == agent
    assert lead.phone == "+12104611180"
    for answer, event, is_new in ((created, created_event, True), (again, again_event, False)):
        assert answer.json()["isNew"] is is_new
        assert answer.json()["leadId"] == lead.pk
        assert answer.json()["traceId"] == answer.headers["X-Request-ID"]
        assert event["type"] == "new_lead_notification"
        assert event["isNew"] is is_new
        assert event["traceId"] == answer.json()["traceId"]
        assert event["lead"]["id"] == lead.pk
        assert event["lead"]["phoneDisplay"] == "(210) 461-1180"
        assert isinstance(event["processMs"], int | float)


BURST = 12
SMALL_POOL = {"DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "2"}


def test_burst_of_deliveries_larger_than_the_connection_pool_is_served(agent):
    headers = nextgen_credentials(agent)
    bodies = [
        sample(lead_id=f"NG-BURST-{n}", phone=f"(210) 555-01{n:02d}", email=f"burst{n}@example.com")
        for n in range(BURST)
    ]

    async def post_all(base_url: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as vendor:
            answers = await asyncio.gather(
                *(vendor.post("/api/webhooks/nextgen", json=b, headers=headers) for b in bodies)
            )
        return [answer.status_code for answer in answers]

    with live_server({**shared_database_env(), **SMALL_POOL}) as base_url:
        statuses = asyncio.run(post_all(base_url))
        health = httpx.get(f"{base_url}/api/health", timeout=30)

    assert statuses == [HTTPStatus.CREATED] * BURST
    assert health.status_code == HTTPStatus.OK
    assert Lead.objects.count() == BURST

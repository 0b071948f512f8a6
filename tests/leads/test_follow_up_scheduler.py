"""The follow-up scheduler (CONTRACT §9): `follow_up_due` reaches the agent's own sockets once."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from crokodial.asgi import application
from leads import followups
from leads.followups import follow_ups_due_notify
from leads.models import Lead
from tests.factories import PASSWORD, make_lead
from tests.faults import private_redis

TIMEOUT = 3  # a ceiling for an event that is expected, not a measured delay
ABSENCE_WINDOW = 0.3  # how long a socket must stay quiet to count as "got nothing"
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 Eastern, 09:00 Central

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def handshake_headers(user) -> list[tuple[bytes, bytes]]:
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
    session = f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()
    return [(b"cookie", session), (b"origin", b"http://localhost")]


@asynccontextmanager
async def socket(user) -> AsyncIterator[WebsocketCommunicator]:
    headers = await database_sync_to_async(handshake_headers)(user)
    communicator = WebsocketCommunicator(application, "/ws/leads/", headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        yield communicator
    finally:
        await communicator.disconnect()


async def follow_ups_due(communicator: WebsocketCommunicator) -> list[dict]:
    """Every follow_up_due the socket has, waiting until it stays quiet."""
    events = []
    while not await communicator.receive_nothing(timeout=ABSENCE_WINDOW):
        event = await communicator.receive_json_from(timeout=TIMEOUT)
        if event["type"] == "follow_up_due":
            events.append(event)
    return events


notify = database_sync_to_async(lambda now: follow_ups_due_notify(now=now))


def _notify_on_own_connection(now: datetime) -> int:
    try:
        return follow_ups_due_notify(now=now)
    finally:
        connection.close()


# Each in its own thread with its own database connection, as two worker processes would be.
notify_elsewhere = sync_to_async(_notify_on_own_connection, thread_sensitive=False)


async def test_a_due_follow_up_rings_its_agents_socket_once(agent, other_agent):
    mine = await database_sync_to_async(make_lead)(
        agent, next_follow_up_at=NOW + timedelta(minutes=15)
    )
    theirs = await database_sync_to_async(make_lead)(
        other_agent, next_follow_up_at=NOW + timedelta(minutes=10)
    )
    async with socket(agent) as agent_socket, socket(other_agent) as other_socket:
        assert await notify(NOW) == 0
        assert await follow_ups_due(agent_socket) == []

        assert await notify(NOW + timedelta(minutes=15, seconds=30)) == 2

        [event] = await follow_ups_due(agent_socket)
        assert event["lead"]["id"] == mine.pk
        assert event["lead"]["nextFollowUpAt"] is not None
        assert [e["lead"]["id"] for e in await follow_ups_due(other_socket)] == [theirs.pk]

        # A second scheduler, or this one after a restart: nothing is rung again.
        assert await notify(NOW + timedelta(minutes=16)) == 0
        assert await follow_ups_due(agent_socket) == []


async def test_a_follow_up_set_again_rings_again(agent):
    lead = await database_sync_to_async(make_lead)(agent, next_follow_up_at=NOW)
    async with socket(agent) as agent_socket:
        assert await notify(NOW) == 1
        assert len(await follow_ups_due(agent_socket)) == 1
        later = NOW + timedelta(hours=1)
        await database_sync_to_async(
            lambda: Lead.objects.filter(pk=lead.pk).update(
                next_follow_up_at=later, follow_up_notified_at=None
            )
        )()

        assert await notify(later) == 1
        assert len(await follow_ups_due(agent_socket)) == 1


async def test_two_schedulers_at_once_ring_each_follow_up_once(agent):
    for minutes in range(20):
        await database_sync_to_async(make_lead)(
            agent, next_follow_up_at=NOW - timedelta(minutes=minutes)
        )
    async with socket(agent) as agent_socket:
        sent = await asyncio.gather(notify_elsewhere(NOW), notify_elsewhere(NOW))

        assert sum(sent) == 20
        events = await follow_ups_due(agent_socket)
        assert len(events) == 20
        assert len({event["lead"]["id"] for event in events}) == 20


@pytest.mark.redis
async def test_a_follow_up_due_while_redis_is_away_rings_once_it_is_back(agent, settings):
    """The scheduler's claim is given back when the event cannot be sent: the follow-up rings at
    the next check after Redis returns, instead of never."""
    layer = django_settings.CHANNEL_LAYERS["default"]["BACKEND"]
    with private_redis() as redis_server:
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": layer, "CONFIG": {"hosts": [redis_server.url]}}
        }
        lead = await database_sync_to_async(make_lead)(
            agent, next_follow_up_at=NOW - timedelta(minutes=1)
        )
        earlier = await database_sync_to_async(make_lead)(
            agent, next_follow_up_at=NOW - timedelta(minutes=2)
        )
        redis_server.kill()

        assert await notify(NOW) == 0
        unrung = Lead.objects.filter(follow_up_notified_at__isnull=True, tenant=agent)
        assert await database_sync_to_async(unrung.count)() == 2

        redis_server.start()
        async with socket(agent) as agent_socket:
            assert await notify(NOW + timedelta(seconds=15)) == 2
            events = await follow_ups_due(agent_socket)
            assert sorted(e["lead"]["id"] for e in events) == sorted([lead.pk, earlier.pk])
            assert await notify(NOW + timedelta(seconds=30)) == 0


async def test_one_follow_up_that_cannot_be_sent_does_not_hold_up_the_others(agent, monkeypatch):
    stuck = await database_sync_to_async(make_lead)(
        agent, next_follow_up_at=NOW - timedelta(hours=1)
    )
    others = [
        await database_sync_to_async(make_lead)(agent, next_follow_up_at=NOW - timedelta(minutes=m))
        for m in (1, 2)
    ]
    send = followups.send_to_tenant

    def send_all_but_stuck(tenant_id, payload, *, on_sent=None):
        if payload["lead"]["id"] != stuck.pk:  # its event fails, every time
            send(tenant_id, payload, on_sent=on_sent)

    monkeypatch.setattr(followups, "send_to_tenant", send_all_but_stuck)
    async with socket(agent) as agent_socket:
        assert await notify(NOW) == 2
        rung = sorted(event["lead"]["id"] for event in await follow_ups_due(agent_socket))
        assert rung == sorted(lead.pk for lead in others)
        unrung = Lead.objects.filter(tenant=agent, follow_up_notified_at__isnull=True)
        assert await database_sync_to_async(
            lambda: list(unrung.values_list("pk", flat=True))
        )() == [stuck.pk]


async def test_on_the_embedded_default_the_web_process_rings_follow_ups(agent, settings):
    """No Redis, no worker: the first socket starts the scheduler in the web process."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.FOLLOW_UP_SCHEDULER_IN_WEB = True
    lead = await database_sync_to_async(make_lead)(
        agent, next_follow_up_at=timezone.now() - timedelta(minutes=1)
    )
    try:
        async with socket(agent) as agent_socket:
            event = await agent_socket.receive_json_from(timeout=TIMEOUT)
            while event["type"] != "follow_up_due":
                event = await agent_socket.receive_json_from(timeout=TIMEOUT)

            assert event["lead"]["id"] == lead.pk
    finally:
        if followups._in_process_task is not None:
            followups._in_process_task.cancel()

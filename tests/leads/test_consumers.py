"""CONTRACT §5: /ws/leads/ carries an agent's own tenant events, and nothing else."""

from collections.abc import Callable
from contextlib import suppress

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from crokodial.asgi import application
from leads.events import send_to_tenant, send_to_tenant_async, send_to_tenant_on_commit
from tests.helpers import ORIGIN, dashboard_socket, logged_in_browser, socket_headers

ALLOWED_ORIGIN = (b"origin", b"http://localhost")
TIMEOUT = 3  # a ceiling for an event that is expected, not a measured delay
ABSENCE_WINDOW = 0.3  # how long a socket must stay quiet to count as "got nothing"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


class Rollback(Exception):
    pass


@pytest.fixture
def session_headers() -> Callable[..., list[tuple[bytes, bytes]]]:
    """Log in through the real login machinery and return the socket's handshake headers."""

    def headers_for(user, origin: bytes = ORIGIN) -> list[tuple[bytes, bytes]]:
        return socket_headers(logged_in_browser(user), origin)

    return headers_for


async def refused(headers: list[tuple[bytes, bytes]]) -> tuple[bool, int | None]:
    communicator = WebsocketCommunicator(application, "/ws/leads/", headers=headers)
    try:
        return await communicator.connect(timeout=TIMEOUT)
    finally:
        await communicator.disconnect()


# --- Who may connect ---------------------------------------------------------------------------


async def signed_out_code(headers: list[tuple[bytes, bytes]]) -> int | None:
    """Open a socket that has no valid session; return the code it is then closed with."""
    communicator = WebsocketCommunicator(application, "/ws/leads/", headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        # Accepted, then closed: a refused handshake reaches a browser as 1006, not 4401.
        assert connected
        return (await communicator.receive_output(timeout=TIMEOUT)).get("code")
    finally:
        await communicator.disconnect()


async def test_anonymous_socket_is_closed_with_4401(channel_layer):
    assert await signed_out_code([ALLOWED_ORIGIN]) == 4401


async def test_socket_with_an_unknown_session_is_closed_with_4401(channel_layer):
    headers = [(b"cookie", b"sessionid=not-a-session"), ALLOWED_ORIGIN]

    assert await signed_out_code(headers) == 4401


async def test_logged_in_agent_socket_connects(channel_layer, agent, session_headers):
    headers = await sync_to_async(session_headers)(agent)

    async with dashboard_socket(headers) as communicator:
        assert await communicator.receive_nothing(timeout=ABSENCE_WINDOW)


@pytest.mark.parametrize("origin", [b"http://evil.example", b"https://localhost.evil.example"])
async def test_socket_from_a_foreign_origin_is_refused(
    channel_layer, agent, session_headers, origin
):
    headers = await sync_to_async(session_headers)(agent, origin=origin)

    connected, _ = await refused(headers)

    assert not connected


async def test_socket_without_an_origin_is_refused(channel_layer, agent, session_headers):
    headers = [h for h in await sync_to_async(session_headers)(agent) if h[0] != b"origin"]

    connected, _ = await refused(headers)

    assert not connected


async def test_socket_accepts_the_path_without_a_trailing_slash(
    channel_layer, agent, session_headers
):
    headers = await sync_to_async(session_headers)(agent)
    communicator = WebsocketCommunicator(application, "/ws/leads", headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
    finally:
        await communicator.disconnect()

    assert connected


# --- What it carries ---------------------------------------------------------------------------


async def test_ping_gets_a_pong(channel_layer, agent, session_headers):
    headers = await sync_to_async(session_headers)(agent)

    async with dashboard_socket(headers) as communicator:
        await communicator.send_json_to({"type": "ping"})

        assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}


async def test_frames_other_than_ping_get_no_answer(channel_layer, agent, session_headers):
    headers = await sync_to_async(session_headers)(agent)

    async with dashboard_socket(headers) as communicator:
        await communicator.send_json_to({"type": "subscribe", "tenant": 999})
        await communicator.send_json_to(["ping"])

        assert await communicator.receive_nothing(timeout=ABSENCE_WINDOW)


async def test_malformed_frames_are_ignored_and_the_socket_stays_open(
    channel_layer, agent, session_headers
):
    headers = await sync_to_async(session_headers)(agent)

    async with dashboard_socket(headers) as communicator:
        await communicator.send_to(text_data="{not json")
        await communicator.send_to(bytes_data=b"\x00\x01")
        await communicator.send_json_to({"type": "ping"})

        assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}


async def test_event_reaches_its_tenant_and_no_other(
    channel_layer, agent, other_agent, session_headers
):
    alice_headers = await sync_to_async(session_headers)(agent)
    bob_headers = await sync_to_async(session_headers)(other_agent)
    event = {"type": "lead_updated", "lead": {"id": 1, "name": "Maria Hernandez"}}

    async with dashboard_socket(alice_headers) as alice, dashboard_socket(bob_headers) as bob:
        await sync_to_async(send_to_tenant)(agent.pk, event)

        assert await alice.receive_json_from(timeout=TIMEOUT) == event
        assert await bob.receive_nothing(timeout=ABSENCE_WINDOW)
        assert await alice.receive_nothing(timeout=ABSENCE_WINDOW)


async def test_async_send_reaches_every_socket_of_the_tenant(
    channel_layer, agent, other_agent, session_headers
):
    alice_headers = await sync_to_async(session_headers)(agent)
    bob_headers = await sync_to_async(session_headers)(other_agent)
    event = {"type": "import_finished", "import": {"id": 7, "status": "done"}}

    async with (
        dashboard_socket(alice_headers) as desk,
        dashboard_socket(alice_headers) as laptop,
        dashboard_socket(bob_headers) as bob,
    ):
        await send_to_tenant_async(agent.pk, event)

        assert await desk.receive_json_from(timeout=TIMEOUT) == event
        assert await laptop.receive_json_from(timeout=TIMEOUT) == event
        assert await bob.receive_nothing(timeout=ABSENCE_WINDOW)


async def test_closed_socket_leaves_its_tenant_group(channel_layer, agent, session_headers):
    headers = await sync_to_async(session_headers)(agent)
    event = {"type": "lead_updated", "lead": {"id": 2}}

    async with dashboard_socket(headers) as first:
        pass
    async with dashboard_socket(headers) as second:
        await send_to_tenant_async(agent.pk, event)

        assert await second.receive_json_from(timeout=TIMEOUT) == event
    assert await first.receive_nothing(timeout=ABSENCE_WINDOW)


# --- Events and transactions -------------------------------------------------------------------


async def test_event_sent_on_commit_arrives_after_the_commit(channel_layer, agent, session_headers):
    headers = await sync_to_async(session_headers)(agent)
    event = {"type": "lead_updated", "lead": {"id": 3}}

    @database_sync_to_async
    def write_and_commit() -> None:
        with transaction.atomic():
            send_to_tenant_on_commit(agent.pk, event)

    async with dashboard_socket(headers) as communicator:
        await write_and_commit()

        assert await communicator.receive_json_from(timeout=TIMEOUT) == event


async def test_event_sent_on_commit_is_dropped_when_the_transaction_rolls_back(
    channel_layer, agent, session_headers
):
    headers = await sync_to_async(session_headers)(agent)
    rolled_back = {"type": "lead_updated", "lead": {"id": 4}}
    committed = {"type": "lead_updated", "lead": {"id": 5}}

    @database_sync_to_async
    def write_and_roll_back() -> None:
        with suppress(Rollback), transaction.atomic():
            send_to_tenant_on_commit(agent.pk, rolled_back)
            raise Rollback

    @database_sync_to_async
    def write_and_commit() -> None:
        with transaction.atomic():
            send_to_tenant_on_commit(agent.pk, committed)

    async with dashboard_socket(headers) as communicator:
        await write_and_roll_back()
        assert await communicator.receive_nothing(timeout=ABSENCE_WINDOW)

        # The next committed event is the first thing the socket sees.
        await write_and_commit()
        assert await communicator.receive_json_from(timeout=TIMEOUT) == committed


async def test_event_sent_in_a_rolled_back_savepoint_is_dropped(
    channel_layer, agent, session_headers
):
    headers = await sync_to_async(session_headers)(agent)
    kept = {"type": "lead_updated", "lead": {"id": 6}}
    dropped = {"type": "lead_updated", "lead": {"id": 7}}

    @database_sync_to_async
    def write() -> None:
        with transaction.atomic():
            send_to_tenant_on_commit(agent.pk, kept)
            with suppress(Rollback), transaction.atomic():
                send_to_tenant_on_commit(agent.pk, dropped)
                raise Rollback

    async with dashboard_socket(headers) as communicator:
        await write()

        assert await communicator.receive_json_from(timeout=TIMEOUT) == kept
        assert await communicator.receive_nothing(timeout=ABSENCE_WINDOW)

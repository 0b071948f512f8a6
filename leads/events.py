"""The one way code talks to an agent's open dashboards.

Every event for a tenant goes to the channel-layer group named by `tenant_group_name`; the
socket consumer (`leads.consumers.LeadConsumer`) joins exactly that group and forwards the
event's payload as a JSON text frame. Writers call `send_to_tenant_on_commit` so nothing
announces a write that rolled back.
"""

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from leads import metrics
from leads.bounds import int_fits_64_bits

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "tenant.event"
# Tells every socket in a group that its credentials ended: it closes with SOCKET_SIGNED_OUT.
SESSION_END_MESSAGE_TYPE = "session.end"
SOCKET_SIGNED_OUT = 4401


def tenant_group_name(tenant_id: int) -> str:
    return f"tenant_{tenant_id}"


def user_group_name(user_id: int) -> str:
    return f"user_{user_id}"


def session_group_name(session_key: str) -> str:
    # A digest, not the key: group names travel through Redis channel names and logs.
    return f"session_{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"


def tenant_message(payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": EVENT_MESSAGE_TYPE, "payload": sendable(payload)}


def sendable(value: Any) -> Any:
    """Return `value` in the types the channel layer's msgpack encoding can always carry.

    A vendor's extra fields are stored as they came, and msgpack holds no integer past 64 bits:
    `{"account": 123456789012345678901234567890}` would make every event about that lead fail
    to encode, and so never reach the agent. Such integers (and any value JSON would not write
    as is, a Decimal or a date) travel as their text; the socket writes the same JSON otherwise.
    """
    if value is None or isinstance(value, str | bool | float):
        return value
    if isinstance(value, int):
        return value if int_fits_64_bits(value) else str(value)
    if isinstance(value, dict):
        return {str(key): sendable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [sendable(item) for item in value]
    return str(value)


async def send_to_tenant_async(tenant_id: int, payload: dict[str, Any]) -> None:
    event_type = str(payload.get("type", ""))
    try:
        await get_channel_layer().group_send(tenant_group_name(tenant_id), tenant_message(payload))
    except BaseException:
        metrics.EVENTS_FAILED.labels(event_type).inc()
        raise
    metrics.EVENTS_SENT.labels(event_type).inc()


SEND_TIMEOUT_SECONDS = 5
_publisher_lock = threading.Lock()
_publisher: tuple[int, asyncio.AbstractEventLoop] | None = None


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """Return this process's event loop for publishing from sync code, starting it once.

    Without one, every `async_to_sync` call from a Celery worker or a command builds a new event
    loop and a new Redis connection: tens of milliseconds per event. The loop is per process
    (a forked worker starts its own).
    """
    global _publisher
    with _publisher_lock:
        if _publisher is None or _publisher[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="tenant-events", daemon=True).start()
            _publisher = (os.getpid(), loop)
        return _publisher[1]


class HeldEvent(NamedTuple):
    tenant_id: int
    payload: dict[str, Any]
    on_sent: Callable[[], None] | None = None


_held = threading.local()


@contextmanager
def tenant_events_held() -> Iterator[list[HeldEvent]]:
    """Collect the events this thread sends instead of sending them; the caller publishes them
    and then calls each event's `on_sent`.

    The webhook's ASGI route does its database work in a thread, then publishes the events from
    the server's own event loop with `send_to_tenant_async`: no extra thread hop per event.
    """
    _held.events = []
    try:
        yield _held.events
    finally:
        del _held.events


async def held_events_publish(events: Iterable[HeldEvent]) -> None:
    """Publish the events `tenant_events_held` collected, from the caller's event loop.

    As with `send_to_tenant`: a failure is logged, never raised, and `on_sent` follows only an
    event really handed to the channel layer.
    """
    for tenant_id, payload, on_sent in events:
        try:
            await send_to_tenant_async(tenant_id, payload)
        except Exception:
            logger.exception("event %s for tenant %s was not sent", payload.get("type"), tenant_id)
        else:
            if on_sent is not None:
                on_sent()


def send_to_tenant(
    tenant_id: int, payload: dict[str, Any], *, on_sent: Callable[[], None] | None = None
) -> None:
    """Send now, then call `on_sent` (when it has really been handed to the channel layer).

    Delivery is at most once: a failure is logged, never raised to the writer.
    """
    held = getattr(_held, "events", None)
    if held is not None:
        held.append(HeldEvent(tenant_id, payload, on_sent))
        return
    try:
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            # Its queues belong to the server's own loop: only in-process hand-off works.
            async_to_sync(send_to_tenant_async)(tenant_id, payload)
        else:
            asyncio.run_coroutine_threadsafe(
                send_to_tenant_async(tenant_id, payload), _publisher_loop()
            ).result(SEND_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("event %s for tenant %s was not sent", payload.get("type"), tenant_id)
        return
    if on_sent is not None:
        on_sent()


def send_to_tenant_on_commit(tenant_id: int, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_to_tenant(tenant_id, payload))


async def sockets_close_async(group_names: list[str]) -> None:
    layer = get_channel_layer()
    for group_name in group_names:
        await layer.group_send(group_name, {"type": SESSION_END_MESSAGE_TYPE})


def sockets_close(group_names: list[str]) -> None:
    """Close every socket in these groups now; a failure is logged, never raised."""
    try:
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            async_to_sync(sockets_close_async)(group_names)
        else:
            asyncio.run_coroutine_threadsafe(
                sockets_close_async(group_names), _publisher_loop()
            ).result(SEND_TIMEOUT_SECONDS)
    except Exception:
        logger.exception("sockets of %s were not closed", group_names)


def sockets_close_on_commit(group_names: list[str]) -> None:
    transaction.on_commit(lambda: sockets_close(group_names))

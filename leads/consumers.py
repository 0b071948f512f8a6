from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from leads import metrics
from leads.bounds import json_loads_bounded
from leads.events import (
    EVENT_MESSAGE_TYPE,
    SOCKET_SIGNED_OUT,
    session_group_name,
    tenant_group_name,
    user_group_name,
)
from leads.followups import follow_up_scheduler_start_in_process


class LeadConsumer(AsyncJsonWebsocketConsumer):
    """An agent's live feed: every event of its own tenant, nothing else.

    Delivery is at most once; after a reconnect the client re-reads the first page of /api/leads.
    A client may send {"type": "ping"} at any time and gets {"type": "pong"} back.
    """

    group_names: tuple[str, ...] = ()
    counted = False  # in crokodial_sockets_open

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first: a close before `accept` is a refused handshake, which a browser
            # reports as 1006 and its page would retry forever; 4401 sends it to the login page.
            await self.accept()
            await self.close(code=SOCKET_SIGNED_OUT)
            return
        # The tenant's events, and the ends of this user's credentials and of this session.
        self.group_names = (tenant_group_name(user.pk), user_group_name(user.pk))
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            self.group_names += (session_group_name(session_key),)
        for group_name in self.group_names:
            await self.channel_layer.group_add(group_name, self.channel_name)
        await self.accept()
        if settings.FOLLOW_UP_SCHEDULER_IN_WEB:
            # The embedded default has no worker: the web process rings follow-ups itself.
            follow_up_scheduler_start_in_process()
        self.counted = True
        metrics.SOCKETS_OPEN.inc()

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] == EVENT_MESSAGE_TYPE:
            # Forwarding an event touches no database: skip the thread hop Channels spends on
            # close_old_connections before every handler, hundreds of times a second.
            await self.tenant_event(message)
        else:
            await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            metrics.SOCKETS_OPEN.dec()
        for group_name in self.group_names:
            await self.channel_layer.group_discard(group_name, self.channel_name)

    async def session_end(self, message: dict[str, Any]) -> None:
        await self.close(code=SOCKET_SIGNED_OUT)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # The socket is a feed: a stray binary or malformed frame from the client is ignored
        # rather than crashing the consumer and cutting the agent's live updates.
        if text_data is None:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content, **kwargs)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        # Deeply nested frames raise a ValueError (JsonTooDeep) here, never a RecursionError.
        return json_loads_bounded(text_data)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def tenant_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["payload"])

"""The one way code talks to an agent's open dashboards.

Every event for a tenant goes to the channel-layer group named by `tenant_group_name`; the
socket consumer (`leads.consumers.LeadConsumer`) joins exactly that group and forwards the
event's payload as a JSON text frame. Writers call `send_to_tenant_on_commit` so nothing
announces a write that rolled back.
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

EVENT_MESSAGE_TYPE = "tenant.event"


def tenant_group_name(tenant_id: int) -> str:
    return f"tenant_{tenant_id}"


def tenant_message(payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": EVENT_MESSAGE_TYPE, "payload": payload}


async def send_to_tenant_async(tenant_id: int, payload: dict[str, Any]) -> None:
    await get_channel_layer().group_send(tenant_group_name(tenant_id), tenant_message(payload))


def send_to_tenant(tenant_id: int, payload: dict[str, Any]) -> None:
    """Send now. Delivery is at most once: a failure is logged, never raised to the writer."""
    try:
        async_to_sync(send_to_tenant_async)(tenant_id, payload)
    except Exception:
        logger.exception("event %s for tenant %s was not sent", payload.get("type"), tenant_id)


def send_to_tenant_on_commit(tenant_id: int, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_to_tenant(tenant_id, payload))

"""The vendor's door, answered before Django's request handler.

NextGen's webhook needs none of the session, CSRF, auth or message middleware, and at hundreds
of posts a second each of them costs a thread hop. This ASGI app answers the webhook path itself
and passes every other request to Django. Its body size and deadlines are enforced in front of
it, by `crokodial.edge`. The work runs on a small pool of threads that keep
their database connections (docs/webhook.md, "How a delivery travels"), and the answer comes from
`webhooks.intake.nextgen_webhook_answer`, exactly as through the DRF view.
"""

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import connection
from django.urls import reverse

from leads.events import HeldEvent, held_events_publish, tenant_events_held
from leads.normalize import normalizer_warm_up
from webhooks.intake import WebhookAnswer, nextgen_webhook_answer

# The route's one home is webhooks/urls.py; with or without its trailing slash.
WEBHOOK_PATH = re.compile(re.escape(reverse("webhooks:nextgen").rstrip("/")) + "/?")

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


def _answer_in_thread(
    headers: dict[str, str], body: bytes, received_at: float
) -> tuple[WebhookAnswer, list[HeldEvent]]:
    # This thread keeps its connection between calls; drop it only once it has failed.
    if connection.connection is not None and connection.errors_occurred:
        if not connection.is_usable():
            connection.close()
        connection.errors_occurred = False
    with tenant_events_held() as events:
        answer = nextgen_webhook_answer(headers=headers, body=body, received_at=received_at)
    return answer, events


# Each thread holds one pooled database connection for good: at most half the pool, so
# Django's own requests (pages, API, health) always find a connection.
WEBHOOK_THREADS = max(
    1, min(4, settings.DATABASES["default"]["OPTIONS"].get("pool", {}).get("max_size", 2) // 2)
)
_webhook_threads = ThreadPoolExecutor(max_workers=WEBHOOK_THREADS, thread_name_prefix="webhook")


async def answer_in_thread(
    headers: dict[str, str], body: bytes, received_at: float
) -> tuple[WebhookAnswer, list[HeldEvent]]:
    # A plain executor hand-off: asgiref's sync_to_async adds context copying this path
    # does not need, at hundreds of calls a second.
    return await asyncio.get_running_loop().run_in_executor(
        _webhook_threads, _answer_in_thread, headers, body, received_at
    )


async def _read_body(receive: Callable) -> bytes | None:
    """Return the whole body, or None when the client went away (or the edge refused it)."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send_json(send: Callable, status: int, body: dict[str, Any], headers: dict) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((name.lower().encode(), str(value).encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def with_vendor_webhook(django_app: ASGIApp) -> ASGIApp:
    normalizer_warm_up()

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not WEBHOOK_PATH.fullmatch(scope["path"]):
            return await django_app(scope, receive, send)
        received_at = time.perf_counter()
        if scope["method"] != "POST":
            return await _send_json(
                send, HTTPStatus.METHOD_NOT_ALLOWED, {"error": "Use POST."}, {"Allow": "POST"}
            )
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        body = await _read_body(receive)
        if body is None:
            return None
        answer, events = await answer_in_thread(headers, body, received_at)
        await _send_json(send, answer.status, answer.body, answer.headers)
        # After the commit (the thread has returned) and after the vendor has its answer.
        await held_events_publish(events)

    return app

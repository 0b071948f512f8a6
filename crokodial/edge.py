"""The edge of the HTTP app: body limits, anonymous refusals and body deadlines, before Django.

Django's ASGI handler reads the whole request body into a temporary file before any middleware,
upload handler or view runs, so a limit checked in a view acts only once the body has been
spooled: an anonymous client could make the server write gigabytes to disk. This layer sits in
front of everything HTTP (the webhook's lean route included) and answers first:

- a body whose declared `Content-Length`, or whose bytes streamed so far, pass the route's limit
  gets a JSON 413 at once, and the app behind sees a disconnect, never a cut-off body;
- an anonymous request to an authenticated API route gets its JSON 401 before the body is read
  (for upload routes a presented token or session is checked first, too);
- a body that stalls between chunks, or is not complete by the deadline, gets a JSON 408.

The table of routes and limits is in docs/security.md.
"""

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from importlib import import_module
from types import SimpleNamespace
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.core.handlers.asgi import ASGIHandler
from django.db import connection
from django.http import parse_cookie
from rest_framework.authtoken.models import Token

from crokodial.outages import MESSAGES as OUTAGE_MESSAGES
from crokodial.outages import RETRY_AFTER_SECONDS, unavailable_service
from imports.services import UploadTooLarge
from imports.upload import MULTIPART_ENVELOPE_BYTES
from webhooks.asgi import WEBHOOK_PATH
from webhooks.intake import nextgen_refusal
from webhooks.routes import NEXTGEN_WEBHOOK_MAX_BODY_BYTES

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
Headers = dict[bytes, bytes]
Answer = tuple[int, dict[str, Any], dict[str, str]]

UPLOAD_PATH = re.compile(r"/api/(csv-upload|leads/import-csv|imports/preview|dnc/upload)/?")
# API routes anyone may call; every other /api/ route needs a token or a session.
OPEN_API_PATH = re.compile(r"/api/(health|auth/token|schema|docs)/?")
ADMIN_PREFIX = "/admin/"
API_PREFIX = "/api/"

NO_CREDENTIALS = "Authentication credentials were not provided."
BAD_CREDENTIALS = "Invalid token or session."
TOKEN_KEYWORD = "token"


def json_refusal(headers: Headers, status: int, error: str) -> Answer:
    extra = {"WWW-Authenticate": "Token"} if status == HTTPStatus.UNAUTHORIZED else {}
    return status, {"error": error}, extra


def webhook_refusal(headers: Headers, status: int, error: str) -> Answer:
    text_headers = {
        name.decode("latin-1"): value.decode("latin-1") for name, value in headers.items()
    }
    answer = nextgen_refusal(headers=text_headers, status=status, error=error)
    return answer.status, answer.body, answer.headers


@dataclass(frozen=True)
class Route:
    name: str
    max_body_bytes: int
    needs_credentials: bool = False
    # Check a presented token or session before reading the body (uploads: the body is large).
    checks_credentials: bool = False
    refusal: Callable[[Headers, int, str], Answer] = json_refusal

    def too_large(self, headers: Headers) -> Answer:
        if self.name == "upload":
            message = UploadTooLarge().message
        else:
            message = f"The request body is over this route's limit of {self.max_body_bytes} bytes."
        return self.refusal(headers, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message)


WEBHOOK_ROUTE = Route("webhook", NEXTGEN_WEBHOOK_MAX_BODY_BYTES, refusal=webhook_refusal)


def route_for(path: str) -> Route:
    if WEBHOOK_PATH.fullmatch(path):
        return WEBHOOK_ROUTE
    if UPLOAD_PATH.fullmatch(path):
        limit = settings.IMPORT_MAX_BYTES + MULTIPART_ENVELOPE_BYTES
        return Route("upload", limit, needs_credentials=True, checks_credentials=True)
    if path.startswith(ADMIN_PREFIX):
        return Route("admin", settings.ADMIN_MAX_BODY_BYTES)
    if path.startswith(API_PREFIX) and not OPEN_API_PATH.fullmatch(path):
        return Route("api", settings.REQUEST_MAX_BODY_BYTES, needs_credentials=True)
    return Route("default", settings.REQUEST_MAX_BODY_BYTES)


def _session_key(headers: Headers) -> str:
    cookie = headers.get(b"cookie")
    if not cookie:
        return ""
    return parse_cookie(cookie.decode("latin-1")).get(settings.SESSION_COOKIE_NAME, "")


def _credentials_are_valid(authorization: str, session_key: str) -> bool:
    """Whether DRF would authenticate these credentials (TokenAuthentication, then session)."""
    try:
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() == TOKEN_KEYWORD:
            # As DRF: a Token header decides alone, whatever the session.
            token = Token.objects.select_related("user").filter(key=key.strip()).first()
            return token is not None and token.user.is_active
        if not session_key:
            return False
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = get_user(SimpleNamespace(session=session))  # type: ignore[arg-type]  # reads .session only
        return user.is_authenticated and user.is_active
    finally:
        # Outside Django's request cycle nothing else hands this connection back to the pool.
        connection.close()


credentials_are_valid = sync_to_async(_credentials_are_valid, thread_sensitive=False)


async def _send_answer(send: Callable, answer: Answer) -> None:
    status, body, headers = answer
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        # The rest of the body is never read: the connection cannot carry another request.
        (b"connection", b"close"),
        *((name.lower().encode(), str(value).encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def _declared_too_large(route: Route, headers: Headers) -> bool:
    declared = headers.get(b"content-length")
    return declared is not None and declared.isdigit() and int(declared) > route.max_body_bytes


async def _credentials_refusal(route: Route, headers: Headers) -> Answer | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    session_key = _session_key(headers)
    if not authorization and not session_key:
        return route.refusal(headers, HTTPStatus.UNAUTHORIZED, NO_CREDENTIALS)
    if not route.checks_credentials:
        return None
    try:
        valid = await credentials_are_valid(authorization, session_key)
    except Exception as error:
        service = unavailable_service(error)
        if service is None:
            raise
        # The credentials cannot be checked while their store is down (docs/failures.md).
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return HTTPStatus.SERVICE_UNAVAILABLE, {"error": OUTAGE_MESSAGES[service]}, retry
    if not valid:
        return route.refusal(headers, HTTPStatus.UNAUTHORIZED, BAD_CREDENTIALS)
    return None


def with_edge_limits(app: ASGIApp) -> ASGIApp:
    """Wrap the whole HTTP app in the limits above."""

    async def edge(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        route = route_for(scope["path"])
        headers = dict(scope["headers"])
        if _declared_too_large(route, headers):
            return await _send_answer(send, route.too_large(headers))
        if route.needs_credentials:
            refusal = await _credentials_refusal(route, headers)
            if refusal is not None:
                return await _send_answer(send, refusal)

        loop = asyncio.get_running_loop()
        idle_seconds = settings.REQUEST_BODY_IDLE_SECONDS
        deadline = loop.time() + settings.REQUEST_BODY_DEADLINE_SECONDS
        received = 0
        body_done = False
        refused: Answer | None = None
        timed_out = False

        def time_out(task: asyncio.Task) -> None:
            nonlocal timed_out
            timed_out = True
            task.cancel()

        async def receive_within_limits() -> dict:
            nonlocal received, body_done, refused
            if body_done:
                return await receive()
            # A plain timer rather than asyncio.timeout: this runs on every request, and the
            # context manager costs several times more.
            timer = loop.call_at(
                min(loop.time() + idle_seconds, deadline),
                time_out,
                cast(asyncio.Task, asyncio.current_task()),
            )
            try:
                message = await receive()
            except asyncio.CancelledError:
                if not timed_out:
                    raise
                cast(asyncio.Task, asyncio.current_task()).uncancel()
                refused = route.refusal(
                    headers, HTTPStatus.REQUEST_TIMEOUT, "The request body arrived too slowly."
                )
                return {"type": "http.disconnect"}
            finally:
                timer.cancel()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received > route.max_body_bytes:
                refused = route.too_large(headers)
                # The app behind sees a client that went away, never a cut-off body.
                return {"type": "http.disconnect"}
            body_done = not message.get("more_body", False)
            return message

        await app(scope, receive_within_limits, send)
        if refused is not None:
            await _send_answer(send, refused)

    return edge


class BodyLengthASGIHandler(ASGIHandler):
    """Django's ASGI handler, telling each request the length of the body it has read in full.

    A chunked body declares no Content-Length, and Django's multipart parser reads a request
    without one as empty ("No file was sent"). The body is complete here (the edge refuses any
    that passes its limit) so its length is known.
    """

    def create_request(self, scope: Mapping[str, Any], body_file: Any) -> tuple[Any, Any]:
        request, error_response = super().create_request(scope, body_file)
        if request is not None and "CONTENT_LENGTH" not in request.META:
            size = body_file.seek(0, os.SEEK_END)
            body_file.seek(0)
            if size:
                request.META["CONTENT_LENGTH"] = str(size)
        return request, error_response

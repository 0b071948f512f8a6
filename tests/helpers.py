"""What many tests need, in one place: a NextGen body, a tenant's webhook credentials, a
dashboard socket, and waiting for something another thread or process does."""

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD

WEBHOOK_FIXTURES = Path(__file__).resolve().parent / "webhooks" / "fixtures"
WEBHOOK_PATH = "/api/webhooks/nextgen"
SOCKET_PATH = "/ws/leads/"
ORIGIN = b"http://localhost"
SOCKET_TIMEOUT = 5  # a ceiling for the handshake, not a measured delay


def nextgen_body(name: str = "nextgen_data.json", **overrides: Any) -> dict[str, Any]:
    """Return a real NextGen delivery (tests/webhooks/fixtures/), with `overrides` on top."""
    return {**json.loads((WEBHOOK_FIXTURES / name).read_text()), **overrides}


def nextgen_credentials(tenant: Any, *, rotate: bool = False) -> dict[str, str]:
    """Issue the tenant's webhook pair; return it as the vendor sends it (`sid`, `apikey`)."""
    from webhooks.services import nextgen_credential_issue

    credential, api_key = nextgen_credential_issue(tenant=tenant, rotate=rotate)
    return {"sid": credential.sid, "apikey": api_key}


def logged_in_browser(user: Any) -> Client:
    """A test client logged in through the real login machinery (a real session)."""
    browser = Client()
    assert browser.login(username=user.username, password=PASSWORD)
    return browser


def socket_headers(browser: Client, origin: bytes = ORIGIN) -> list[tuple[bytes, bytes]]:
    """The dashboard socket's handshake headers for a logged-in browser: its cookie, an origin."""
    name = settings.SESSION_COOKIE_NAME
    return [(b"cookie", f"{name}={browser.cookies[name].value}".encode()), (b"origin", origin)]


@asynccontextmanager
async def dashboard_socket(who: Any) -> AsyncIterator[WebsocketCommunicator]:
    """Open /ws/leads/ through the project's ASGI app and assert it was accepted; always
    disconnect. `who` is a user (logged in for the occasion), a logged-in test Client, or the
    handshake headers themselves."""
    from crokodial.asgi import application

    if isinstance(who, list):
        headers = who
    else:
        browser = who if isinstance(who, Client) else await sync_to_async(logged_in_browser)(who)
        headers = await sync_to_async(socket_headers)(browser)
    communicator = WebsocketCommunicator(application, SOCKET_PATH, headers=headers)
    try:
        connected, _ = await communicator.connect(timeout=SOCKET_TIMEOUT)
        assert connected
        yield communicator
    finally:
        await communicator.disconnect()


def wait_for(condition: Callable[[], object], timeout: float, *, poll: float = 0.1) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False).

    For what another thread or process does (a worker storing leads, a server answering): the
    timeout is a ceiling, never a measured delay.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return bool(condition())

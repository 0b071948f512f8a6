"""Browser tests: a real server process (tests/server.py), a real Chromium, the test database.

On PostgreSQL the server opens the test database; on SQLite the test database is a file
(tests/conftest.py) for the same reason. Events cross processes through Redis when REDIS_URL
is set; without it the server's in-memory channel layer is enough, since the browser and the
webhook both talk to that one process.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import celery_worker as shared_celery_worker
from tests.server import live_server, shared_database_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Shared by the server and the worker: the worker reads the upload the server stored.
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"crokodial-browser-media-{os.getpid()}"


def server_env(**extra: str) -> dict[str, str]:
    return shared_database_env(
        DJANGO_SECRET_KEY="browser-test-secret", MEDIA_ROOT=str(MEDIA_ROOT), **extra
    )


def celery_worker(env: dict[str, str]):
    """A worker that has said it is ready (only meaningful with REDIS_URL)."""
    return shared_celery_worker(env, concurrency=1, wait_ready=True)


# Package scope: Playwright's sync API holds an event loop on this thread until it stops,
# which the asyncio tests that run after this package must not find.
@pytest.fixture(scope="package")
def chromium(django_db_setup):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which Django's ORM guard takes
    # for async code; the tests' own ORM calls are plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    """One server for the module; each test still gets a clean database (transaction=True)."""
    with live_server(server_env()) as url:
        yield url

"""Browser tests: a real server process (tests/server.py), a real Chromium, the test database.

On PostgreSQL the server opens the test database; on SQLite the test database is a file
(tests/conftest.py) for the same reason. Events cross processes through Redis when REDIS_URL
is set; without it the server's in-memory channel layer is enough, since the browser and the
webhook both talk to that one process.
"""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.server import ROOT, live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WORKER_START_TIMEOUT = 30
# Shared by the server and the worker: the worker reads the upload the server stored.
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"crokodial-browser-media-{os.getpid()}"


def server_env(**extra: str) -> dict[str, str]:
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(database["USER"] or "", safe="")
        if database.get("PASSWORD"):
            credentials += ":" + quote(database["PASSWORD"], safe="")
        host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        database_url = f"postgres://{credentials}@{host}/{database['NAME']}"
    else:
        database_url = f"sqlite:///{Path(database['NAME']).resolve()}"
    env = {
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "browser-test-secret",
        "MEDIA_ROOT": str(MEDIA_ROOT),
        **extra,
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[None]:
    """Run a Celery worker under `env` until the block ends (only meaningful with REDIS_URL)."""
    process_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(ROOT)),
                   "DJANGO_SETTINGS_MODULE": "crokodial.settings", **env}  # fmt: skip
    with tempfile.NamedTemporaryFile(mode="w+", suffix=".log") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "crokodial", "worker", "--pool=solo",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"],
            cwd=ROOT, env=process_env, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + WORKER_START_TIMEOUT
            while "ready." not in Path(log.name).read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"celery worker did not start:\n{Path(log.name).read_text()}"
                    )
                time.sleep(0.1)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
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

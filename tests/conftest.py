import os
import uuid
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from crokodial.celery import app as celery_app
from tests.factories import make_agent
from tests.helpers import nextgen_credentials

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        pytest.exit("CI=true needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis).", returncode=3)
    # In-process clients speak plain http, which production (DEBUG off) would redirect to https;
    # tests/crokodial/test_settings.py checks the production settings in a subprocess.
    settings.SECURE_SSL_REDIRECT = False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Run service-bound tests where the service is; in CI a missing service is a failure."""
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI needs PostgreSQL for this test; DATABASE_URL is not PostgreSQL.")
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://…)")
    if item.get_closest_marker("redis"):
        if not settings.REDIS_URL:
            if IN_CI:
                pytest.fail("CI needs Redis for this test; REDIS_URL is not set.")
            pytest.skip("needs Redis (set REDIS_URL=redis://…)")
        if not _redis_reachable():
            pytest.fail(f"REDIS_URL is set but Redis does not answer at {settings.REDIS_URL}.")
    if item.get_closest_marker("browser") and not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(
                f"CI needs Chromium at {CHROMIUM} for browser tests (make test installs it)."
            )
        pytest.skip(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request, tmp_path_factory, django_db_modify_db_settings_parallel_suffix
):
    """Browser tests on SQLite: a file test database, so the live server process can open it."""
    from django.db import connections

    database = connections["default"]
    if database.vendor == "sqlite" and any(
        item.get_closest_marker("browser") for item in request.session.items
    ):
        database.settings_dict["TEST"]["NAME"] = str(
            tmp_path_factory.mktemp("browser-db") / "test.sqlite3"
        )


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastPBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def eager_celery():
    """Run tasks in-process unless a test starts a real worker itself."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def fast_path_switch_unflipped():
    """USE_FAST_PATH decides until a test flips the switch (webhooks.switch)."""
    from webhooks.switch import fast_path_forget

    fast_path_forget()
    yield
    fast_path_forget()


@pytest.fixture(autouse=True)
def axes_off(settings):
    """django-axes refuses authenticate() without a request, as Client.login() calls it; tests of
    the lockout and of the login form under axes ask for `axes_on`."""
    settings.AXES_ENABLED = False


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True


@pytest.fixture
def agent(db):
    return make_agent("alice")


@pytest.fixture
def other_agent(db):
    return make_agent("bob")


@pytest.fixture
def agent_client(agent) -> APIClient:
    client = APIClient()
    client.force_authenticate(agent)
    return client


@pytest.fixture
def other_client(other_agent) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_agent)
    return client


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def credentials(agent) -> dict[str, str]:
    """The agent's webhook pair, as the vendor sends it (`sid`, `apikey` headers)."""
    return nextgen_credentials(agent)


@pytest.fixture
def other_credentials(other_agent) -> dict[str, str]:
    return nextgen_credentials(other_agent)


# Every channel layer production can run on: the embedded default (no REDIS_URL), Redis pub/sub
# (CHANNEL_LAYER=pubsub, the default with Redis) and the list-based Redis layer (=lists).
CHANNEL_LAYER_PARAMS = [
    "in_memory",
    *(pytest.param(name, marks=pytest.mark.redis) for name in settings.CHANNEL_LAYER_BACKENDS),
]


@pytest.fixture(params=CHANNEL_LAYER_PARAMS)
def channel_layer(request, settings) -> str:
    """Run the test on each channel layer production can use; return its name."""
    if request.param == "in_memory":
        backend = "channels.layers.InMemoryChannelLayer"
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend}}
    else:
        backend = settings.CHANNEL_LAYER_BACKENDS[request.param]
        # A prefix of its own, so test runs sharing the Redis server cannot hear each other.
        config = {"hosts": [settings.REDIS_URL], "prefix": f"test-{uuid.uuid4().hex[:8]}"}
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": config}}
    layer = get_channel_layer()
    assert f"{type(layer).__module__}.{type(layer).__name__}" == backend
    return request.param

import os

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from crokodial.celery import app as celery_app
from tests.factories import make_agent

IN_CI = os.environ.get("CI", "").lower() == "true"


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        pytest.exit("CI=true needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis).", returncode=3)


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

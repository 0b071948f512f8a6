"""CONTRACT §3: /api/health for load balancers, /metrics for Prometheus."""

from http import HTTPStatus

import httpx
import pytest
from django.test import Client

from tests.factories import make_agent
from tests.server import live_server

pytestmark = pytest.mark.django_db

HEALTH_PATHS = ["/api/health", "/api/health/"]
METRICS_PATHS = ["/metrics", "/metrics/"]
METRICS_TOKEN = "scrape-me-0123456789"
# Nothing listens on port 1, so every connection attempt is refused.
UNREACHABLE_DATABASE_URL = "postgres://root@127.0.0.1:1/nodb"


# --- Health ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", HEALTH_PATHS)
def test_health_reports_ok_for_anyone(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok"},
    }


def test_health_ignores_a_bad_session_or_token(client):
    response = client.get("/api/health", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.redis
def test_health_pings_redis_when_it_carries_the_channel_layer(anon_client, settings):
    assert settings.REDIS_URL

    response = anon_client.get("/api/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["checks"]["channel_layer"] == "ok"


def test_health_fails_when_redis_does_not_answer(anon_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = anon_client.get("/api/health")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "status": "error",
        "checks": {"database": "ok", "channel_layer": "error"},
    }


def test_health_reports_a_disabled_channel_layer(anon_client, settings):
    settings.CHANNEL_LAYERS = {}

    response = anon_client.get("/api/health")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["checks"]["channel_layer"] == "disabled"


def test_health_answers_503_while_the_database_is_unreachable():
    env = {"DATABASE_URL": UNREACHABLE_DATABASE_URL, "DJANGO_SECRET_KEY": "test-only-secret"}
    # The database pool waits for a connection before giving up, so allow more than httpx's 5 s.
    with live_server(env) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        first = http.get("/api/health")
        second = http.get("/api/health")

    for response in (first, second):
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        body = response.json()
        assert body["status"] == "error"
        assert body["checks"]["database"] == "error"


# --- Metrics ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(make_agent("operator", is_admin=True))
    return client


@pytest.fixture
def agent_browser(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.mark.parametrize("path", METRICS_PATHS)
def test_metrics_are_refused_to_anonymous_requests(client, path):
    response = client.get(path)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert b"# TYPE" not in response.content


def test_metrics_are_refused_to_an_agent_who_is_not_staff(agent_browser):
    response = agent_browser.get("/metrics")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("path", METRICS_PATHS)
def test_metrics_are_served_to_staff_in_prometheus_text_format(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE " in response.content


def test_metrics_offer_openmetrics_to_a_scraper_that_asks(staff_client):
    response = staff_client.get(
        "/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0"
    )

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


@pytest.mark.parametrize("path", METRICS_PATHS)
def test_metrics_are_served_for_the_bearer_token(client, settings, path):
    settings.METRICS_TOKEN = METRICS_TOKEN

    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {METRICS_TOKEN}x", "Bearer wrong", f"Token {METRICS_TOKEN}", METRICS_TOKEN],
)
def test_metrics_are_refused_for_a_wrong_bearer_token(client, settings, authorization):
    settings.METRICS_TOKEN = METRICS_TOKEN

    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer anything", "Bearer"])
def test_metrics_refuse_every_bearer_token_when_none_is_configured(client, settings, authorization):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == HTTPStatus.UNAUTHORIZED

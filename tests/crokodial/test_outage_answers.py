"""The one 503 answer for a request that needs a service which is down (docs/failures.md).

The live fault tests (test_outages.py) stop real servers; these pin the answer's shape.
"""

import json
from http import HTTPStatus

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError

from crokodial.api_errors import server_error
from crokodial.outages import (
    ServiceUnavailableMiddleware,
    refuse_sockets_during_outages,
)

middleware = ServiceUnavailableMiddleware(lambda request: None)


@pytest.mark.parametrize(
    "error", [OperationalError("server closed the connection"), RedisConnectionError("refused")]
)
def test_an_api_request_gets_json_503_with_retry_after(error):
    answer = middleware.process_exception(RequestFactory().get("/api/leads"), error)

    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert answer["Retry-After"] == "5"
    assert set(json.loads(answer.content)) == {"error"}


def test_a_page_gets_a_short_html_503():
    answer = middleware.process_exception(RequestFactory().get("/"), OperationalError("down"))

    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert answer["Retry-After"] == "5"
    assert b"Back shortly" in answer.content


def test_any_other_error_is_left_alone():
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None


def test_an_outage_raised_outside_a_view_is_a_503_and_a_bug_stays_a_500():
    request = RequestFactory().get("/api/leads")
    try:
        raise OperationalError("down")
    except OperationalError:
        outage = server_error(request)
    try:
        raise ValueError("bug")
    except ValueError:
        bug = server_error(request)

    assert outage.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert bug.status_code == HTTPStatus.INTERNAL_SERVER_ERROR


async def _handshake(extensions: dict) -> list[dict]:
    async def consumer(scope, receive, send):
        raise OperationalError("down")

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws/leads/", "extensions": extensions}
    await refuse_sockets_during_outages(consumer)(scope, None, send)
    return sent


@pytest.mark.asyncio
async def test_a_socket_handshake_is_refused_with_503_where_the_server_allows():
    sent = await _handshake({"websocket.http.response": {}})

    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == HTTPStatus.SERVICE_UNAVAILABLE
    assert (b"retry-after", b"5") in sent[0]["headers"]


@pytest.mark.asyncio
async def test_a_socket_handshake_is_closed_try_again_later_elsewhere():
    assert await _handshake({}) == [{"type": "websocket.close", "code": 1013}]


@pytest.mark.django_db
def test_sign_up_answers_503_when_its_throttle_cannot_be_read(client, settings):
    # Nothing listens on port 1: the cache (Redis) refuses at once.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    answer = client.get("/accounts/signup/")

    assert answer.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert answer["Retry-After"] == "5"

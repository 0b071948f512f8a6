"""One answer for a request that needs a service which is down: 503 with Retry-After.

A database or Redis that cannot be reached is not a bug in the request, so it is never a bare
500: API paths get {"error": ...} as JSON, pages a short HTML page, the socket a refused
handshake. Used by the middleware below, the DRF exception handler (`crokodial.api_errors`), the
`handler500` fallback for errors raised outside views, and the socket guard (`crokodial.asgi`).
See docs/failures.md.
"""

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("crokodial.outages")

RETRY_AFTER_SECONDS = 5
MESSAGES = {
    "database": "The database is unavailable; nothing was changed. Retry shortly.",
    "redis": "A service this request needs (Redis) is unavailable. Retry shortly.",
}
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Back shortly</title>"
    "<h1>Back shortly</h1><p>{message}</p><p>This page will work again as soon as it is back: "
    "reload it in a few seconds.</p></html>"
)


def unavailable_service(error: BaseException | None) -> str | None:
    """Name the service whose outage `error` shows ("database" or "redis"), or None."""
    if isinstance(error, OperationalError | InterfaceError):
        return "database"
    if isinstance(error, RedisConnectionError | RedisTimeoutError | BrokerError):
        return "redis"
    return None


def unavailable_response(request: HttpRequest, service: str) -> HttpResponse:
    message = MESSAGES[service]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=503, headers=headers)
    return HttpResponse(PAGE.format(message=message), status=503, headers=headers)


def _log(service: str, error: BaseException, where: str) -> None:
    logger.warning("%s unavailable, answered 503 at %s: %s", service, where, error)


class ServiceUnavailableMiddleware:
    """Answer 503 for a view that raised because the database or Redis is down."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        service = unavailable_service(exception)
        if service is None:
            return None
        _log(service, exception, request.path)
        return unavailable_response(request, service)


ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


def refuse_sockets_during_outages(app: ASGIApp) -> ASGIApp:
    """Refuse a socket handshake with 503 + Retry-After when an outage breaks it, rather than
    let the server answer 500 (or close a socket already open with 1013, "try again later")."""

    async def guarded(scope: dict, receive: Callable, send: Callable) -> None:
        accepted = False

        async def tracking_send(message: dict) -> None:
            nonlocal accepted
            accepted = accepted or message["type"] in ("websocket.accept", "websocket.close")
            await send(message)

        try:
            await app(scope, receive, tracking_send)
        except Exception as error:
            service = unavailable_service(error)
            if service is None:
                raise
            _log(service, error, scope.get("path", "socket"))
            if accepted:
                with suppress(Exception):  # the socket may be gone already
                    await send({"type": "websocket.close", "code": 1013})
            elif "websocket.http.response" in scope.get("extensions", {}):
                body = MESSAGES[service].encode()
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        ],
                    }
                )
                await send({"type": "websocket.http.response.body", "body": body})
            else:
                await send({"type": "websocket.close", "code": 1013})

    return guarded

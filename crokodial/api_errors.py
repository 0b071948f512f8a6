"""Project-wide API wiring: one error shape for every answer under /api/, bounded JSON bodies,
and the schema hooks that declare both (docs/api-errors.md)."""

import codecs
import re
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from crokodial.outages import unavailable_response, unavailable_service
from leads.bounds import MAX_JSON_DEPTH, NUL, JsonTooDeep, json_loads_bounded
from leads.errors import Busy, Expired, InvalidInput, Refused, TooLarge, first_message
from webhooks.routes import NEXTGEN_WEBHOOK_ROUTE

API_PREFIX = "/api/"

# The one place a refusal of the rules (leads.errors) becomes an HTTP status.
REFUSAL_STATUS: dict[type[Refused], HTTPStatus] = {
    Refused: HTTPStatus.BAD_REQUEST,
    InvalidInput: HTTPStatus.BAD_REQUEST,
    TooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    Busy: HTTPStatus.CONFLICT,
    Expired: HTTPStatus.GONE,
}


def refusal_answer(refusal: Refused) -> exceptions.APIException:
    """Return the DRF error that answers `refusal`: its status, its message and fields."""
    if isinstance(refusal, InvalidInput) and refusal.fields:
        return exceptions.ValidationError(refusal.fields)
    status = next(REFUSAL_STATUS[kind] for kind in type(refusal).__mro__ if kind in REFUSAL_STATUS)
    answer = exceptions.APIException(refusal.message)
    answer.status_code = status
    return answer


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every API error as {"error": message} plus {"fields": {...}} for validation errors."""
    if unavailable_service(exc) is not None:
        # Left to crokodial.outages.ServiceUnavailableMiddleware: one 503 answer for every view.
        return None
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this module,
    # so importing it at the top fails whenever this module is the first to be imported (the
    # CSRF failure view's system check can be).
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Refused):
        exc = refusal_answer(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"error": first_message(fields), "fields": fields}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response


def holds_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds a NUL character in any string or key."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(holds_nul(item) for item in value)
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing (400) documents nested past MAX_JSON_DEPTH, NaN/Infinity and
    NUL characters, which no PostgreSQL text column can hold."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json_loads_bounded(text, parse_constant=_refuse_constant)
        except JsonTooDeep:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if holds_nul(data):
            raise ParseError("JSON strings must not contain NUL characters.")
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


# --- Errors Django answers itself (no DRF view involved), JSON under /api/ ------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Every /api/ path no endpoint matches (`/api/leads/abc` too), whatever the method."""
    return _json_error(HTTPStatus.NOT_FOUND, "Not found.")


def _api_or_page(status: int, message: str, page: Callable[..., HttpResponse]) -> Callable:
    def handler(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _is_api(request):
            return _json_error(status, message)
        return page(request, *args, **kwargs)

    return handler


not_found = _api_or_page(HTTPStatus.NOT_FOUND, "Not found.", defaults.page_not_found)
bad_request = _api_or_page(HTTPStatus.BAD_REQUEST, "Bad request.", defaults.bad_request)
permission_denied = _api_or_page(
    HTTPStatus.FORBIDDEN, "Permission denied.", defaults.permission_denied
)
csrf_failure = _api_or_page(
    HTTPStatus.FORBIDDEN, "CSRF check failed: send the X-CSRFToken header.", csrf.csrf_failure
)
_server_error = _api_or_page(
    HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error.", defaults.server_error
)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a 503 when the error raised outside a view (a middleware reading the
    session, say) was an outage (docs/failures.md); a 500, JSON under /api/, otherwise."""
    service = unavailable_service(sys.exception())
    if service is not None:
        return unavailable_response(request, service)
    return _server_error(request)


# --- Schema -----------------------------------------------------------------------------------


def drop_trailing_slash_duplicates(endpoints: list[tuple]) -> list[tuple]:
    """Keep one schema entry per endpoint: every URL answers with and without a trailing slash."""
    unique: dict[tuple[str, str], tuple] = {}
    for path, path_regex, method, callback in endpoints:
        path = path.rstrip("/") or "/"
        unique.setdefault((path, method), (path, path_regex, method, callback))
    return list(unique.values())


ERROR_COMPONENT = {
    "type": "object",
    "description": "Every error under /api/: a one-line message, and per-field messages for a 400.",
    "properties": {
        "error": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "Field or parameter name to its messages.",
            "additionalProperties": {},
        },
    },
    "required": ["error"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# What each status means wherever the hook below adds it.
ERROR_ANSWERS = {
    "400": "A parameter, header or body value is invalid (named in `fields`), or holds NUL.",
    "401": "No valid credentials (`Authorization: Token …` or a session).",
    "403": "A session-authenticated unsafe request without its CSRF token.",
    "404": "No such object in the caller's tenant, or no such path.",
    "413": "The body is over the route's limit.",
    "415": "A body in a media type the endpoint does not read.",
    "429": "Too many failed logins for this username from this address.",
    "503": "A service the request needs is unavailable; retry later.",
}
REQUEST_BODY_REQUEST_COMPONENTS_CLOSED = ("PatchedLeadChangeRequest",)
# The webhook reads JSON or a form whatever the declared type (webhooks.intake).
READS_ANY_MEDIA_TYPE = re.compile(re.escape(API_PREFIX) + NEXTGEN_WEBHOOK_ROUTE)


def _statuses_for(path: str, method: str, operation: dict) -> list[str]:
    statuses = ["400", "413", "503"]
    if operation.get("security") and {} not in operation["security"]:
        statuses.append("401")
        if method in ("post", "put", "patch", "delete"):
            statuses.append("403")
    if "{" in path:
        statuses.append("404")
    if "requestBody" in operation and not READS_ANY_MEDIA_TYPE.fullmatch(path):
        statuses.append("415")
    if path == "/api/auth/token":
        statuses.append("429")
    return statuses


def declare_error_answers(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Give every operation the error answers the server can give it, in the one Error shape."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in _statuses_for(path, method, operation):
                responses.setdefault(
                    status,
                    {
                        "content": {"application/json": {"schema": ERROR_REF}},
                        "description": ERROR_ANSWERS[status],
                    },
                )
    for name in REQUEST_BODY_REQUEST_COMPONENTS_CLOSED:
        component = result["components"]["schemas"].get(name)
        if component is not None:
            # The server refuses a field it does not know (400 naming it).
            component["additionalProperties"] = False
    return result

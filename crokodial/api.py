"""Project-wide DRF wiring: one error shape for every API answer, and schema hooks."""

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crokodial.outages import unavailable_service
from leads.errors import first_message


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every API error as {"error": message} plus {"fields": {...}} for validation errors."""
    if unavailable_service(exc) is not None:
        # Left to crokodial.outages.ServiceUnavailableMiddleware: one 503 answer for every view.
        return None
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"error": first_message(fields), "fields": fields}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response


def drop_trailing_slash_duplicates(endpoints: list[tuple]) -> list[tuple]:
    """Keep one schema entry per endpoint: every URL answers with and without a trailing slash."""
    unique: dict[tuple[str, str], tuple] = {}
    for path, path_regex, method, callback in endpoints:
        path = path.rstrip("/") or "/"
        unique.setdefault((path, method), (path, path_regex, method, callback))
    return list(unique.values())

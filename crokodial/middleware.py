"""Refuse NUL characters in the parts of a request Django reads before any view validates them.

PostgreSQL text cannot hold NUL: a `%00` in a query parameter, or a quoted `\\000` in a cookie,
would otherwise reach a query (the admin's search, a session lookup) and end as a 500.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from leads.bounds import NUL

MESSAGE = "NUL characters are not allowed in the path, query, headers or cookies."


def request_holds_nul(request: HttpRequest) -> bool:
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or NUL in query or NUL in request.path:
        return True
    headers = (value for name, value in request.META.items() if name.startswith("HTTP_"))
    if any(NUL in value for value in headers if isinstance(value, str)):
        return True
    return any(NUL in name or NUL in value for name, value in request.COOKIES.items())


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_holds_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": MESSAGE}, status=HTTPStatus.BAD_REQUEST)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

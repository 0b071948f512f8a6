"""The tenant a request acts for: the logged-in agent whose leads it may see and change."""

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request


def request_tenant(request: HttpRequest | Request) -> User:
    """Return the logged-in agent of a request whose view requires a login (403 otherwise)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user

"""What every signed-in page's header shows as it loads (templates/base.html)."""

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from leads import services
from leads.views import waiting_context


def waiting(request: HttpRequest) -> dict[str, Any]:
    """The "N new leads waiting" counter, drawn by the server on every page rather than filled in
    by static/js/app.js after load (which moved the navigation beside it). Worked out only when
    a page shows it: the admin and the sign-in page never ask."""

    def summary() -> dict[str, Any]:
        user = getattr(request, "user", None)
        return waiting_context(user, services.clock()) if isinstance(user, User) else {}

    return {"waiting": SimpleLazyObject(summary)}

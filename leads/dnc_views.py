"""The do-not-call pages: the agent's list (/dnc) and "Add to do-not-call" on a lead.

Adding and removing are plain form posts; the upload goes to /api/dnc/upload from the page's
script (static/js/dnc.js), as the import page does, so the edge's upload limit applies to it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads.dnc import (
    DoNotCallRefused,
    dnc_entry_add,
    dnc_entry_get,
    dnc_entry_list,
    dnc_entry_remove,
)
from leads.models import DNC_REASON_MAX_LENGTH, DoNotCallSource
from leads.selectors import lead_get
from leads.tenancy import request_tenant

ENTRIES_PER_PAGE = 50
SEARCH_MAX_LENGTH = 200


@login_required
def dnc_page_view(request: HttpRequest) -> HttpResponse:
    """The agent's active entries (searchable, paged); POST adds one number."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            added = dnc_entry_add(
                tenant=request_tenant(request),
                phone=request.POST.get("phone", "")[:40],
                reason=request.POST.get("reason", ""),
                added_by=request_tenant(request),
            )
        except DoNotCallRefused as error:
            errors[error.field] = error.message
        else:
            entry = added.entry
            said = "added to" if added.created else "already on"
            messages.success(request, f"{entry.phone} {said} your do-not-call list.")
            return redirect("dnc-page")
    search = request.GET.get("search", "")[:SEARCH_MAX_LENGTH]
    pages = Paginator(
        dnc_entry_list(tenant=request_tenant(request), search=search), ENTRIES_PER_PAGE
    )
    page = pages.get_page(request.GET.get("page"))
    return render(
        request,
        "leads/dnc.html",
        {
            "page": page,
            "search": search,
            "errors": errors,
            "form": request.POST if errors else {},
            "reason_max_length": DNC_REASON_MAX_LENGTH,
        },
        status=400 if errors else 200,
    )


@require_POST
@login_required
def dnc_remove_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = dnc_entry_get(tenant=request_tenant(request), entry_id=entry_id)
    try:
        dnc_entry_remove(
            entry=entry, reason=request.POST.get("reason", ""), removed_by=request_tenant(request)
        )
    except DoNotCallRefused as error:
        messages.error(request, f"{entry.phone} was not removed: {error.message}")
    else:
        messages.success(request, f"{entry.phone} removed from your do-not-call list.")
    return redirect("dnc-page")


@require_POST
@login_required
def lead_dnc_add_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """List the lead's phone, from the lead page."""
    lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
    try:
        dnc_entry_add(
            tenant=request_tenant(request),
            phone=lead.phone,
            reason=request.POST.get("reason", ""),
            source=DoNotCallSource.LEAD,
            added_by=request_tenant(request),
        )
    except DoNotCallRefused as error:
        messages.error(request, f"Not added to do-not-call: {error.message}")
    return redirect(reverse("lead-page", kwargs={"lead_id": lead.pk}))

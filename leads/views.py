"""The agent's pages: the lead desk, one lead, sign-up. Data changes go through the JSON API."""

import math
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from leads import services
from leads.apis import LeadPageSerializer
from leads.call_loop_views import call_loop_context
from leads.calling import CallingRule, calling_rules, lead_callability, lead_list_callable_now
from leads.calling_apis import callability_resource
from leads.dnc import dnc_entry_for_phone
from leads.followups import follow_up_list
from leads.forms import SignUpForm
from leads.models import DNC_REASON_MAX_LENGTH, Lead, LeadSource, LeadStatus
from leads.pagination import DEFAULT_LIMIT, counted_page_slice, page_slice, total_of
from leads.selectors import (
    NO_DISPOSITION,
    LeadFilters,
    disposition_list,
    lead_get,
    lead_list,
    lead_list_reads_every_match,
    lead_next,
    lead_waiting_summary,
)
from leads.serializers import lead_resource, phone_for_display
from leads.tenancy import request_tenant

# The table's columns that sort, with the API's sortBy names.
SORTABLE_COLUMNS = (
    ("name", "Name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("state", "State"),
    (None, "Source"),
    ("disposition", "Disposition"),
    (None, "Status"),
    ("createdAt", "Age"),
    (None, "Attempts"),
    ("timeZone", "Call now"),
)
PAGE_SIZES = (25, 50, 100)
# The status the lead page proposes with a disposition (shown on each choice, applied only while
# the agent keeps "Set the status too" ticked): the outcome of a call says where the lead stands.
# Keyed by the default dispositions' names, case-insensitively; a tenant's own have none.
STATUS_FOR_DISPOSITION = {
    "positive contact": LeadStatus.CONTACTED,
    "negative contact": LeadStatus.CONTACTED,
    "hung up": LeadStatus.CONTACTED,
    "quoted": LeadStatus.FOLLOW_UP,
    "appointment": LeadStatus.FOLLOW_UP,
    "buy or die": LeadStatus.FOLLOW_UP,
    "sold": LeadStatus.WON,
    "employer coverage": LeadStatus.LOST,
    "brokie": LeadStatus.LOST,
    "unhealthy/referred": LeadStatus.LOST,
    "foreign": LeadStatus.LOST,
    "invalid/disconnected": LeadStatus.LOST,
}


def age_label(created_at: datetime, now: datetime) -> str:
    """Return how long ago, as the desk shows it: "just now", "3 min ago", "2 h ago", "4 d ago"."""
    minutes = max(0, int((now - created_at).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 60 * 24:
        return f"{minutes // 60} h ago"
    return f"{minutes // (60 * 24)} d ago"


def callability_label(answer: dict[str, Any]) -> str:
    """What the desk says about calling: "Call now", "Not now — 08:00 tomorrow", "—".

    static/js/calls.js says the same about answers it fetches.
    """
    if answer["callable"]:
        return "Call now"
    if answer["reason"] == "unknown_time_zone":
        return "—"
    if answer["reason"] == "do_not_call":
        return "Do not call"
    next_at = answer["nextAllowedAt"]
    if not next_at:
        return "Not now"
    same_day = next_at[:10] == (answer["localTime"] or "")[:10]
    return f"Not now — {next_at[11:16]} {'today' if same_day else next_at[:10]}"


def callability_context(
    lead: Lead, now: datetime, rules: dict[str, CallingRule] | None = None
) -> dict[str, Any]:
    answer = callability_resource(lead_callability(lead=lead, at=now, rules=rules))
    return {**answer, "label": callability_label(answer)}


def last_attempt_title(at: datetime) -> str:
    """The exact time of the last call, as the desk's row shows it on hover (in UTC: the page
    does not know the agent's zone; static/js/desk.js writes the same)."""
    return f"Last call {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def desk_row(lead: Lead, now: datetime, rules: dict[str, CallingRule]) -> dict[str, Any]:
    """The lead resource plus what the row shows about it right now (callability from
    leads/calling.py, the one place that decides)."""
    last = lead.last_attempt_at
    return {
        **lead_resource(lead),
        "age": age_label(lead.created_at, now),
        "lastAttemptAge": age_label(last, now) if last else "",
        "lastAttemptTitle": last_attempt_title(last) if last else "",
        "callability": callability_context(lead, now, rules),
    }


def waiting_context(tenant: Any, now: datetime) -> dict[str, Any]:
    waiting = lead_waiting_summary(tenant=tenant)
    oldest = waiting.oldest_created_at
    return {
        "count": waiting.count,
        "oldestCreatedAt": oldest.isoformat() if oldest else None,
        "oldestAge": age_label(oldest, now) if oldest else "",
    }


# As many due follow-ups as static/js/followups.js asks for (/api/followups?due=now&limit=100).
FOLLOW_UPS_DUE_SHOWN = 100


def follow_ups_due_context(tenant: Any, now: datetime) -> dict[str, Any]:
    """The desk's "Follow-ups due" list as the page first shows it, item for item what
    static/js/followups.js draws when it refreshes, so the list does not grow after load and
    push the rows down under the agent's pointer."""
    due = follow_up_list(tenant=tenant, due_at=now)
    leads = list(due[:FOLLOW_UPS_DUE_SHOWN])
    # Counted as /api/followups counts (exact up to a limit, then the planner's estimate).
    count = len(leads) if len(leads) < FOLLOW_UPS_DUE_SHOWN else total_of(due)[0]
    items = []
    for lead in leads:
        at = lead.next_follow_up_at
        assert at is not None  # follow_up_list has only leads with a follow-up
        items.append(
            {
                "id": lead.pk,
                "label": lead.name or phone_for_display(lead.phone) or "(no name)",
                "at": at,
                "overdueMinutes": int((now - at).total_seconds() // 60),
                "phone": "" if lead.do_not_call else lead.phone,
            }
        )
    return {"count": count, "items": items}


def _api_query(filters: LeadFilters, limit: int) -> dict[str, Any]:
    """The filters as /api/leads and /api/leads/export take them (commas join lists)."""
    query: dict[str, Any] = {
        "search": filters.search,
        "states": ",".join(filters.states),
        "dispositions": ",".join(filters.dispositions),
        "sources": ",".join(filters.sources),
        "attempts": "0" if filters.never_attempted else "",
        "sortBy": filters.sort_by,
        "sortDirection": filters.sort_direction,
        "limit": limit,
    }
    return {name: value for name, value in query.items() if value not in ("", None)}


def _desk_params(query: QueryDict) -> tuple[LeadPageSerializer, bool, dict[str, Any]]:
    """Read the desk's query: the API's list parameters, plus the page-only `callable`."""
    query = query.copy()
    callable_only = query.pop("callable", [""])[-1] in ("1", "on", "true")
    params = LeadPageSerializer(data=query)
    if params.is_valid():
        return params, callable_only, {}
    # A hand-edited URL shows the whole desk and says what was wrong, rather than a bare 400.
    errors = dict(params.errors)
    params = LeadPageSerializer(data={})
    params.is_valid()
    return params, callable_only, errors


def _desk_query_string(filters: LeadFilters, limit: int, callable_only: bool) -> str:
    """The desk's filters and order as a query string ("" or "?…", defaults left out), handed
    from the desk to a lead's page and on to the next lead, so "Save & next lead" follows the
    desk the agent left."""
    defaults = LeadFilters()
    query = _api_query(filters, limit)
    if filters.sort_by == defaults.sort_by and filters.sort_direction == defaults.sort_direction:
        query.pop("sortBy", None)
        query.pop("sortDirection", None)
    if limit == DEFAULT_LIMIT:
        query.pop("limit", None)
    if callable_only:
        query["callable"] = "1"
    return f"?{urlencode(query)}" if query else ""


def _desk_query(request: HttpRequest) -> str:
    params, callable_only, _errors = _desk_params(request.GET)
    return _desk_query_string(params.filters(), params.validated_data["limit"], callable_only)


def _select_options(chosen: list[str], choices: list[str]) -> tuple[str, list[str]]:
    """A single-choice select for a list filter; a combination from the URL is kept as one."""
    value = ",".join(chosen)
    options = list(choices)
    if value and value not in options:
        options.insert(0, value)
    return value, options


# The desk and a lead's page are never cached: Back must show the desk as it is now.
@never_cache
@login_required
def desk_view(request: HttpRequest) -> HttpResponse:
    params, callable_only, errors = _desk_params(request.GET)
    filters = params.filters()
    page, limit = params.validated_data["page"], params.validated_data["limit"]
    now = services.clock()
    if callable_only:
        leads = lead_list_callable_now(tenant=request_tenant(request), filters=filters, now=now)
    else:
        leads = lead_list(tenant=request_tenant(request), filters=filters)
    page_leads, counted = None, None
    if not callable_only and lead_list_reads_every_match(filters):
        page_leads, counted = counted_page_slice(leads, start=(page - 1) * limit, limit=limit)
    total, total_is_estimate = (counted, False) if counted is not None else total_of(leads)
    pages = max(1, math.ceil(total / limit))
    page = min(page, pages)
    start = (page - 1) * limit
    if counted is None or page_leads is None:  # counted comes with its page
        page_leads = page_slice(leads, start=start, limit=limit)
    rules = calling_rules()
    rows = [desk_row(lead, now, rules) for lead in page_leads]

    api_query = _api_query(filters, limit)
    page_query = {**api_query, **({"callable": "1"} if callable_only else {})}
    lead_query = _desk_query_string(filters, limit, callable_only)
    for row in rows:
        row["pageUrl"] = reverse("lead-page", args=[row["id"]]) + lead_query

    def url(**changes: Any) -> str:
        return "?" + urlencode({**page_query, **changes})

    columns = []
    for sort_by, label in SORTABLE_COLUMNS:
        column: dict[str, Any] = {"label": label, "sortBy": sort_by}
        if sort_by:
            current = filters.sort_by == sort_by
            direction = "asc" if current and filters.sort_direction == "desc" else "desc"
            if not current and sort_by != "createdAt":
                direction = "asc"
            column.update(
                url=url(sortBy=sort_by, sortDirection=direction),
                current=current,
                ariaSort=("ascending" if filters.sort_direction == "asc" else "descending")
                if current
                else "none",
            )
        columns.append(column)

    dispositions = list(disposition_list(tenant=request_tenant(request)))
    looks = {d.name: d for d in dispositions}
    for row in rows:
        look = looks.get(row["disposition"])
        row["dispositionColor"] = look.color if look else ""
        row["dispositionEmoji"] = look.emoji if look else ""
    disposition_value, disposition_options = _select_options(
        list(filters.dispositions), [NO_DISPOSITION, *(d.name for d in dispositions)]
    )
    source_value, source_options = _select_options(list(filters.sources), LeadSource.values)
    desk_config = {
        "filters": {
            "search": filters.search,
            "states": list(filters.states),
            "dispositions": list(filters.dispositions),
            "sources": list(filters.sources),
            "sortBy": filters.sort_by,
            "sortDirection": filters.sort_direction,
            "callable": callable_only,
            "neverTried": filters.never_attempted,
        },
        "page": page,
        "limit": limit,
        "total": total,
        "totalIsEstimate": total_is_estimate,
        "apiQuery": api_query,
        "leadQuery": lead_query,
        "noDisposition": NO_DISPOSITION,
        "dispositions": [
            {"name": d.name, "color": d.color, "emoji": d.emoji} for d in dispositions
        ],
    }
    return render(
        request,
        "leads/desk.html",
        {
            "rows": rows,
            "errors": errors,
            "filters": filters,
            "callable_only": callable_only,
            "columns": columns,
            "pagination": {
                "total": total,
                "total_is_estimate": total_is_estimate,
                "page": page,
                "pages": pages,
                "limit": limit,
                "first": start + 1 if total else 0,
                "last": start + len(rows),
                "previous_url": url(page=page - 1) if page > 1 else "",
                "next_url": url(page=page + 1) if page < pages else "",
            },
            "page_sizes": PAGE_SIZES,
            "disposition_value": disposition_value,
            "disposition_options": disposition_options,
            "source_value": source_value,
            "source_options": source_options,
            "export_url": "/api/leads/export?"
            + urlencode({k: v for k, v in api_query.items() if k != "limit"}),
            "desk_config": desk_config,
            "dispositions": dispositions,
            "follow_ups_due": follow_ups_due_context(request_tenant(request), now),
        },
    )


@never_cache
@login_required
def lead_detail_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
    now = services.clock()
    resource = lead_resource(lead)
    yes_no = {True: "Yes", False: "No", None: ""}
    groups = [
        (
            "Contact",
            [
                ("Name", lead.name),
                ("Phone", resource["phoneDisplay"]),
                ("Email", lead.email),
            ],
        ),
        (
            "Location",
            [
                ("Street", lead.street1),
                ("Street (2)", lead.street2),
                ("City", lead.city),
                ("State", lead.state),
                ("ZIP", lead.zipcode),
                ("Time zone", lead.time_zone),
            ],
        ),
        (
            "Demographics",
            [
                ("Date of birth", lead.dob.isoformat() if lead.dob else ""),
                ("Gender", lead.gender),
                ("Height", lead.height),
                ("Weight", lead.weight),
                ("Military", yes_no[lead.military]),
            ],
        ),
        (
            "Health",
            [
                ("Tobacco user", yes_no[lead.tobacco_user]),
                ("Pregnant", yes_no[lead.pregnant]),
                ("Takes prescriptions", yes_no[lead.has_prescription]),
                ("Medicare parts A & B", yes_no[lead.has_medicare_parts_ab]),
                ("Medical condition", yes_no[lead.has_medical_condition]),
                ("Conditions", lead.medical_conditions),
            ],
        ),
        (
            "Household",
            [
                ("Household size", lead.household_size if lead.household_size is not None else ""),
                ("Household income", lead.household_income),
                ("Insurance timeframe", lead.insurance_timeframe),
            ],
        ),
        (
            "Campaign",
            [
                ("Source", lead.source),
                ("Campaign", lead.campaign_name),
                ("Product", lead.product),
                ("Price", f"${lead.price:.2f}" if lead.price is not None else ""),
                (
                    "Premium listing",
                    f"${lead.premium_price:.2f}" if lead.premium_price is not None else "",
                ),
                ("UTM source", lead.utm_source),
                ("UTM medium", lead.utm_medium),
                ("UTM campaign", lead.utm_campaign),
            ],
        ),
        (
            "Vendor data",
            [
                ("NextGen id", lead.nextgen_id),
                ("Purchase id", lead.purchase_id),
                ("Vendor", lead.vendor_name),
                ("Account", lead.account_name),
                ("Bid type", lead.bid_type),
                ("Call log id", lead.call_log_id),
                ("Call duration (s)", lead.call_duration if lead.call_duration is not None else ""),
                (
                    "Vendor created at",
                    lead.vendor_created_at.isoformat() if lead.vendor_created_at else "",
                ),
                *((str(key), str(value)) for key, value in sorted(lead.vendor_data.items())),
            ],
        ),
    ]
    return render(
        request,
        "leads/lead_detail.html",
        {
            "lead": lead,
            "resource": resource,
            "groups": groups,
            "age": age_label(lead.created_at, now),
            "callability": callability_context(lead, now),
            "do_not_call_entry": dnc_entry_for_phone(
                tenant=request_tenant(request), phone=lead.phone
            ),
            **call_loop_context(tenant=request_tenant(request), lead=lead),
            "dnc_reason_max_length": DNC_REASON_MAX_LENGTH,
            "statuses": LeadStatus.values,
            "disposition_choices": [
                {
                    "name": d.name,
                    "color": d.color,
                    "emoji": d.emoji,
                    "status": STATUS_FOR_DISPOSITION.get(d.name.lower(), ""),
                }
                for d in disposition_list(tenant=request_tenant(request))
            ],
            "desk_query": _desk_query(request),
        },
    )


@require_GET
@never_cache
@login_required
def lead_next_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Go to the lead after this one in the desk's filters and order (the query the lead page
    was opened with); after the last one, back to that desk."""
    after = lead_get(tenant=request_tenant(request), lead_id=lead_id)
    params, callable_only, _errors = _desk_params(request.GET)
    filters = params.filters()
    if callable_only:
        leads = lead_list_callable_now(
            tenant=request_tenant(request), filters=filters, now=services.clock()
        )
    else:
        leads = lead_list(tenant=request_tenant(request), filters=filters)
    following = lead_next(leads=leads, filters=filters, after=after)
    query = _desk_query(request)
    if following is None:
        return redirect(reverse("desk") + query)
    return redirect(reverse("lead-page", args=[following.pk]) + query)


@require_GET
@login_required
def waiting_view(request: HttpRequest) -> JsonResponse:
    """The header's speed-to-lead figures, re-read by the page after live events."""
    return JsonResponse(waiting_context(request_tenant(request), services.clock()))


def client_address(request: HttpRequest) -> str:
    # The address Django sees; behind a proxy, pass the client's through (docs/dashboard.md).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def signup_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("desk")
    client = client_address(request)
    if services.signup_is_throttled(client=client):
        return render(
            request, "leads/signup.html", {"throttled": True}, status=HTTPStatus.TOO_MANY_REQUESTS
        )
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.agent_sign_up(
                code=form.cleaned_data["code"],
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email", ""),
            )
        except services.PasscodeRejected as rejection:
            services.signup_failure_record(client=client)
            form.add_error("code", rejection.reason)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("desk")
    return render(request, "leads/signup.html", {"form": form})


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a locked-out login: JSON for the API, the page for people."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = f"Too many failed logins. Try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"error": message}, status=HTTPStatus.TOO_MANY_REQUESTS)
    return render(
        request,
        "registration/locked_out.html",
        {"message": message},
        status=HTTPStatus.TOO_MANY_REQUESTS,
    )

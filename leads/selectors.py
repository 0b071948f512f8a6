"""Reads of tenant data. Every function takes the tenant; none can see across tenants."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, F, Min, Q, QuerySet
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import IContains
from django.http import Http404

from leads.models import Disposition, Lead, LeadStatus, SearchText

NO_DISPOSITION = "No Disposition"

# Text sorts ignore case, as people read lists: "alice" comes before "Bob" whatever the collation.
SORT_FIELDS: dict[str, tuple[F | Lower, ...]] = {
    "createdAt": (F("created_at"),),
    "name": (Lower("first_name"), Lower("last_name")),
    "email": (Lower("email"),),
    "phone": (F("phone"),),
    "state": (F("state"),),
    "disposition": (Lower("disposition"),),
    "timeZone": (F("time_zone"),),
}
# Only digits and the punctuation people write phones with: "+1 (210) 461-1180".
PHONE_SEARCH = re.compile(r"\+?[0-9 ().\-]+")
MIN_PHONE_SEARCH_DIGITS = 3
MIN_TRIGRAM_WORD = 3


@dataclass(frozen=True)
class LeadFilters:
    search: str = ""
    states: Sequence[str] = ()
    dispositions: Sequence[str] = ()
    sources: Sequence[str] = ()
    sort_by: str = "createdAt"
    sort_direction: str = "desc"
    do_not_call: bool | None = None
    never_attempted: bool = False
    # Only leads whose follow-up is due by this moment.
    follow_up_due_at: datetime | None = None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch in "0123456789")


def _search_q(search: str) -> Q:
    """Match every word against name, email or phone digits; a whole phone number matches too.

    A word matches the first name, last name or email when it occurs in them joined by spaces
    (it holds no space itself), which is what the trigram index on PostgreSQL covers.
    """
    condition = Q()
    for word in search.split():
        matches = Q(IContains(SearchText(), word))
        digits = _digits(word)
        if len(digits) >= MIN_PHONE_SEARCH_DIGITS:
            matches |= Q(phone__contains=digits)
        condition &= matches
    text = search.strip()
    # A number typed with spaces ("+1 210 461 1180") has words too short to match on their own.
    if PHONE_SEARCH.fullmatch(text) and len(_digits(text)) >= MIN_PHONE_SEARCH_DIGITS:
        condition |= Q(phone__contains=_digits(text))
    return condition


def _uses_trigram_index(search: str) -> bool:
    # pg_trgm indexes fragments of three characters or more.
    words = search.split()
    return bool(words) and all(len(word) >= MIN_TRIGRAM_WORD for word in words)


def lead_list_reads_every_match(filters: LeadFilters) -> bool:
    """Whether lead_list(filters=filters) reads all its matches to sort them, so that counting
    them costs nothing more (leads.pagination.counted_page_slice)."""
    return _uses_trigram_index(filters.search)


def lead_list(*, tenant: User, filters: LeadFilters = LeadFilters()) -> QuerySet[Lead]:
    """Return the tenant's leads matching `filters`, in the requested order (id breaks ties)."""
    leads = Lead.objects.filter(tenant=tenant)
    if filters.search.strip():
        leads = leads.filter(_search_q(filters.search))
    if filters.states:
        leads = leads.filter(state__in=filters.states)
    if filters.dispositions:
        names = [d for d in filters.dispositions if d != NO_DISPOSITION]
        condition = Q(disposition__in=names)
        if len(names) < len(filters.dispositions):
            condition |= Q(disposition="")
        leads = leads.filter(condition)
    if filters.sources:
        leads = leads.filter(source__in=filters.sources)
    if filters.do_not_call is not None:
        leads = leads.filter(do_not_call=filters.do_not_call)
    if filters.never_attempted:
        leads = leads.filter(attempts_total=0)
    if filters.follow_up_due_at is not None:
        leads = leads.filter(next_follow_up_at__lte=filters.follow_up_due_at)
    columns: tuple[Any, ...] = (*SORT_FIELDS[filters.sort_by], F("id"))
    if _uses_trigram_index(filters.search):
        # Sorted so that no index gives the order: the planner then reads the (few) matches off
        # the trigram indexes and sorts them, instead of walking the whole tenant in order while
        # testing every lead against the fragment (docs/desk.md).
        columns = tuple(Coalesce(column, column) for column in columns)
    if filters.sort_direction == "desc":
        return leads.order_by(*(column.desc() for column in columns))
    return leads.order_by(*(column.asc() for column in columns))


def lead_next(*, leads: QuerySet[Lead], filters: LeadFilters, after: Lead) -> Lead | None:
    """Return the lead that follows `after` in `leads`, ordered as `filters` say (id breaks ties).

    `leads` is a tenant's list from `lead_list` (or a narrowing of it). `after` need not be in it
    any more: the agent may just have changed what made it match; its place in the order still
    decides which lead comes next (a keyset, so no earlier lead is read).
    """
    columns = (*SORT_FIELDS[filters.sort_by], F("id"))
    names = [f"sort_key_{index}" for index in range(len(columns))]
    keyed = leads.alias(**dict(zip(names, columns, strict=True)))
    current = (
        Lead.objects.filter(pk=after.pk)
        .annotate(**dict(zip(names, columns, strict=True)))
        .values(*names)
        .first()
    )
    if current is None:
        return None
    comparison = "lt" if filters.sort_direction == "desc" else "gt"
    later = Q(pk__in=[])
    for index, name in enumerate(names):
        equal_before = Q(**{other: current[other] for other in names[:index]})
        later |= equal_before & Q(**{f"{name}__{comparison}": current[name]})
    return keyed.filter(later).first()


def lead_get(*, tenant: User, lead_id: int) -> Lead:
    """Return the tenant's lead; another tenant's lead is as absent as a missing one."""
    try:
        return Lead.objects.get(tenant=tenant, pk=lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None


def disposition_list(*, tenant: User) -> QuerySet[Disposition]:
    """Return the defaults plus the tenant's own dispositions, in display order."""
    return Disposition.objects.filter(Q(tenant__isnull=True) | Q(tenant=tenant)).order_by(
        "order", "name"
    )


# --- The desk page: who may be called now, who is waiting -------------------------------------


def lead_time_zones(*, tenant: User) -> list[str]:
    """The tenant's distinct time zones, one index probe each (a DISTINCT would read every lead)."""
    zones: list[str] = []
    tenant_leads = Lead.objects.filter(tenant=tenant).order_by("time_zone")
    while (
        zone := tenant_leads.filter(time_zone__gt=zones[-1] if zones else "")
        .values_list("time_zone", flat=True)
        .first()
    ):
        zones.append(zone)
    return zones


@dataclass(frozen=True)
class WaitingLeads:
    count: int
    oldest_created_at: datetime | None


def lead_waiting_summary(*, tenant: User) -> WaitingLeads:
    """Leads nobody has worked yet (status New, no disposition) and that may be called: how
    many, since when. A lead on the do-not-call list is not waiting for a call."""
    waiting = Lead.objects.filter(
        tenant=tenant, status=LeadStatus.NEW, disposition="", do_not_call=False
    )
    summary = waiting.aggregate(count=Count("id"), oldest=Min("created_at"))
    return WaitingLeads(count=summary["count"], oldest_created_at=summary["oldest"])


def lead_versions(
    *, tenant_id: int, lead_ids: Sequence[int]
) -> dict[int, tuple[datetime, datetime]]:
    """Return {lead id: (created_at, updated_at)} of the tenant's leads among `lead_ids` that
    still exist."""
    versions: dict[int, tuple[datetime, datetime]] = {}
    for start in range(0, len(lead_ids), 5000):
        chunk = lead_ids[start : start + 5000]
        leads = Lead.objects.filter(tenant_id=tenant_id, pk__in=chunk)
        versions.update(
            (pk, (created, updated))
            for pk, created, updated in leads.values_list("pk", "created_at", "updated_at")
        )
    return versions

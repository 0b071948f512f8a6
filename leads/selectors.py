"""Reads of tenant data. Every function takes the tenant; none can see across tenants."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.http import Http404

from leads.models import Disposition, Lead

NO_DISPOSITION = "No Disposition"

SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "createdAt": ("created_at",),
    "name": ("first_name", "last_name"),
    "email": ("email",),
    "phone": ("phone",),
    "state": ("state",),
    "disposition": ("disposition",),
    "timeZone": ("time_zone",),
}


@dataclass(frozen=True)
class LeadFilters:
    search: str = ""
    states: Sequence[str] = ()
    dispositions: Sequence[str] = ()
    sources: Sequence[str] = ()
    sort_by: str = "createdAt"
    sort_direction: str = "desc"


def _search_q(search: str) -> Q:
    condition = Q()
    for word in search.split():
        matches = (
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
        digits = "".join(ch for ch in word if ch.isdigit())
        if len(digits) >= 3:
            matches |= Q(phone__contains=digits)
        condition &= matches
    return condition


def lead_list(*, tenant: AbstractBaseUser, filters: LeadFilters = LeadFilters()) -> QuerySet[Lead]:
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
    prefix = "-" if filters.sort_direction == "desc" else ""
    order = [prefix + column for column in SORT_FIELDS[filters.sort_by]]
    return leads.order_by(*order, prefix + "id")


def lead_get(*, tenant: AbstractBaseUser, lead_id: int) -> Lead:
    """Return the tenant's lead; another tenant's lead is as absent as a missing one."""
    try:
        return Lead.objects.get(tenant=tenant, pk=lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None


def disposition_list(*, tenant: AbstractBaseUser) -> QuerySet[Disposition]:
    """Return the defaults plus the tenant's own dispositions, in display order."""
    return Disposition.objects.filter(Q(tenant__isnull=True) | Q(tenant=tenant)).order_by(
        "order", "name"
    )

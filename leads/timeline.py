"""A lead's story (CONTRACT §9, docs/call-loop.md "Timeline"): recorded by the services where
each change happens, read back in time order.

Writers call `lead_event_record` inside their own transaction; the bulk doors (webhook batches,
imports) hand their arrivals to `lead_events_record_bulk`, one insert for all of them.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from leads.models import Lead, LeadEvent
from leads.models import LeadEventKind as EventKind

__all__ = ["EventKind", "lead_event_record", "lead_events_record_bulk", "lead_timeline"]

# The agent's fields whose changes are told old → new.
TRACKED_FIELDS = ("status", "disposition", "notes")


def lead_event_record(
    *,
    lead: Lead,
    kind: str,
    at: datetime,
    by: AbstractBaseUser | None = None,
    data: Mapping[str, Any] | None = None,
) -> LeadEvent:
    return LeadEvent.objects.create(
        tenant_id=lead.tenant_id,
        lead_id=lead.pk,
        kind=kind,
        at=at,
        by=by if by is not None and by.is_authenticated else None,
        data=dict(data or {}),
    )


def lead_events_record_bulk(events: Iterable[LeadEvent]) -> None:
    """One INSERT for many events (no per-row signals or saves)."""
    LeadEvent.objects.bulk_create(list(events), batch_size=2000)


def arrival_event(lead: Lead, *, at: datetime, **data: Any) -> LeadEvent:
    """The unsaved arrival record of a new lead: its door, vendor and anything else given."""
    details = {"door": lead.source, "vendor": lead.vendor_name, **data}
    return LeadEvent(
        tenant_id=lead.tenant_id,
        lead_id=lead.pk,
        kind=EventKind.ARRIVED,
        at=at,
        data={key: value for key, value in details.items() if value not in ("", None)},
    )


def changes_of(lead: Lead, old: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """{field: {"old", "new"}} for the tracked fields whose value changed."""
    return {
        name: {"old": old[name], "new": getattr(lead, name)}
        for name in fields
        if name in TRACKED_FIELDS and name in old and old[name] != getattr(lead, name)
    }


def lead_timeline(*, tenant: AbstractBaseUser, lead: Lead) -> QuerySet[LeadEvent]:
    return (
        LeadEvent.objects.filter(tenant=tenant, lead=lead).select_related("by").order_by("at", "id")
    )

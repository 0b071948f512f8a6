"""A lead's story (CONTRACT §9, docs/call-loop.md "Timeline"): recorded by the services where
each change happens, read back in time order.

Writers call `lead_event_record` inside their own transaction; the bulk doors (webhook batches,
imports) hand their arrivals to `lead_events_record_bulk`, one insert for all of them.
"""

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet

from leads.models import Lead, LeadEvent
from leads.models import LeadEventKind as EventKind
from leads.serializers import camel_case

# The agent's fields whose changes are told old → new.
TRACKED_FIELDS = ("status", "disposition", "notes")


def lead_event_record(
    *,
    lead: Lead,
    kind: str,
    at: datetime,
    by: User | None = None,
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


_encode_json = DjangoJSONEncoder().encode
_COPY_SQL = (
    f"COPY {LeadEvent._meta.db_table} (tenant_id, lead_id, kind, at, by_id, data) FROM STDIN"
)


def lead_events_record_bulk(events: Iterable[LeadEvent]) -> None:
    """Write many events at once: one COPY on PostgreSQL (an import batch's updates cost it a
    fraction of what the ORM's INSERT would), one bulk INSERT elsewhere."""
    events = list(events)
    if not events:
        return
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        LeadEvent.objects.bulk_create(events, batch_size=500)
        return
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.copy(_COPY_SQL) as copy,
    ):
        encoded: dict[int, str] = {}  # events may share one `data`: encoded once
        for event in events:
            data = encoded.get(id(event.data))
            if data is None:
                data = encoded[id(event.data)] = _encode_json(event.data)
            copy.write_row(
                (event.tenant_id, event.lead_id, event.kind, event.at, event.by_id, data)
            )


# What the apps above `leads/` know about a lead's arrival that the lead does not say (the
# import it came from: imports/apps.py). Each provider gets the lead and answers extra
# `data` keys in camelCase, {} when it has nothing to add; it runs once per timeline read.
ArrivalDetail = Callable[[Lead], Mapping[str, Any]]
_arrival_details: list[ArrivalDetail] = []


def register_arrival_detail(provider: ArrivalDetail) -> ArrivalDetail:
    """Add `provider` to what an arrival says (once, however often it is registered)."""
    if provider not in _arrival_details:
        _arrival_details.append(provider)
    return provider


def arrival_event(lead: Lead) -> LeadEvent:
    """The lead's arrival, read from the lead itself (its door, vendor and creation time) and
    from the registered arrival details (the import it came from).

    Not a stored row: the webhook and import doors write thousands of leads a second, and an
    extra row per lead would cost each of them an insert; everything the arrival says is on the
    lead, or in what the door recorded of its own work (docs/call-loop.md, "Timeline").
    """
    details = {
        "door": lead.source,
        "vendor": lead.vendor_name,
        "nextgenId": lead.nextgen_id,
        "vendorCreatedAt": lead.vendor_created_at.isoformat() if lead.vendor_created_at else "",
    }
    for provider in _arrival_details:
        details.update(provider(lead))
    return LeadEvent(
        id=None,
        tenant_id=lead.tenant_id,
        lead_id=lead.pk,
        kind=EventKind.ARRIVED,
        at=lead.created_at,
        data={key: value for key, value in details.items() if value},
    )


def changes_of(lead: Lead, old: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """{field: {"old", "new"}} for the tracked fields whose value changed."""
    return {
        name: {"old": old[name], "new": getattr(lead, name)}
        for name in fields
        if name in TRACKED_FIELDS and name in old and old[name] != getattr(lead, name)
    }


def vendor_fields(changes: Iterable[str]) -> list[str]:
    """The lead resource's names of the fields a vendor update changed."""
    return sorted(_api_name(name) for name in changes if name not in ("updated_at", "time_zone"))


@functools.cache
def _api_name(name: str) -> str:
    return camel_case(name)


def lead_timeline(*, tenant: User, lead: Lead) -> QuerySet[LeadEvent]:
    return (
        LeadEvent.objects.filter(tenant=tenant, lead=lead).select_related("by").order_by("at", "id")
    )


def lead_timeline_page(
    *, tenant: User, lead: Lead, start: int, limit: int
) -> tuple[list[LeadEvent], int]:
    """Events `start` to `start + limit` of the whole story (arrival first), and how many."""
    events = lead_timeline(tenant=tenant, lead=lead)
    items = [arrival_event(lead)] if start == 0 else []
    items += list(events[max(start - 1, 0) : start + limit - 1])
    return items, events.count() + 1

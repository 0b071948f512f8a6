"""What the lead page shows of the call loop: the last call, the follow-up, the timeline.

Rendered by templates/leads/_call_loop.html; static/js/followups.js works the controls.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from leads.calling import call_attempt_list
from leads.models import CallOutcome, Lead, LeadEvent, LeadEventKind
from leads.serializers import camel_case
from leads.timeline import lead_timeline_page

# The lead page shows the start of the story; the API pages the rest.
TIMELINE_ON_PAGE = 100
FOLLOW_UP_PICKS = [
    ("15m", "In 15 minutes"),
    ("1h", "In an hour"),
    ("1d", "Tomorrow, this time"),
    ("3d", "In 3 days"),
    ("7d", "In a week"),
]
KIND_LABELS: dict[str, str] = {
    LeadEventKind.ARRIVED: "Arrived",
    LeadEventKind.VENDOR_UPDATE: "Vendor update",
    LeadEventKind.ATTEMPT: "Call",
    LeadEventKind.ATTEMPT_OUTCOME: "Call outcome",
    LeadEventKind.CHANGED: "Changed",
    LeadEventKind.FOLLOW_UP_SET: "Follow-up set",
    LeadEventKind.FOLLOW_UP_CLEARED: "Follow-up cleared",
    LeadEventKind.FOLLOW_UP_DONE: "Follow-up done",
    LeadEventKind.DO_NOT_CALL_ADDED: "Do-not-call: listed",
    LeadEventKind.DO_NOT_CALL_REMOVED: "Do-not-call: removed",
}
NOTE_PREVIEW = 80


def _short(value: Any) -> str:
    text = "—" if value in ("", None) else str(value)
    return text if len(text) <= NOTE_PREVIEW else f"{text[: NOTE_PREVIEW - 1]}…"


def _moment(value: str | None) -> str:
    if not value:
        return "none"
    try:
        return datetime.fromisoformat(value).strftime("%b %-d, %H:%M %z")
    except ValueError:
        return value


def event_summary(event: LeadEvent) -> str:
    """One line saying what happened, from the event's data."""
    data = event.data
    kind = event.kind
    if kind == LeadEventKind.ARRIVED:
        parts = [f"by {data.get('door', 'an unknown door')}"]
        if data.get("vendor"):
            parts.append(f"from {data['vendor']}")
        if data.get("nextgenId"):
            parts.append(f"(NextGen id {data['nextgenId']})")
        if data.get("importId"):
            parts.append(f"(import {data['importId']})")
        return " ".join(parts)
    if kind == LeadEventKind.VENDOR_UPDATE:
        return f"{data.get('door', '')}: {', '.join(data.get('fields', []))}".strip(": ")
    if kind == LeadEventKind.ATTEMPT:
        parts = [data.get("outcome") or ""]
        if data.get("override"):
            parts.append(f"rules set aside: {data['override']}")
        return " · ".join(part for part in parts if part)
    if kind in (LeadEventKind.ATTEMPT_OUTCOME, LeadEventKind.CHANGED):
        return "; ".join(
            f"{camel_case(name)}: {_short(change.get('old'))} → {_short(change.get('new'))}"
            for name, change in data.items()
            if isinstance(change, dict)
        )
    if kind in (
        LeadEventKind.FOLLOW_UP_SET,
        LeadEventKind.FOLLOW_UP_CLEARED,
        LeadEventKind.FOLLOW_UP_DONE,
    ):
        return f"{_moment(data.get('old'))} → {_moment(data.get('new'))}"
    if kind in (LeadEventKind.DO_NOT_CALL_ADDED, LeadEventKind.DO_NOT_CALL_REMOVED):
        return " · ".join(part for part in (data.get("phone"), data.get("reason")) if part)
    return ""


def call_loop_context(*, tenant: User, lead: Lead) -> dict[str, Any]:
    events, total = lead_timeline_page(tenant=tenant, lead=lead, start=0, limit=TIMELINE_ON_PAGE)
    return {
        "last_attempt": call_attempt_list(tenant=tenant, lead=lead).first(),
        "call_outcomes": CallOutcome.choices,
        "follow_up_picks": FOLLOW_UP_PICKS,
        "timeline": [
            {
                "event": event,
                "label": KIND_LABELS.get(event.kind, event.kind),
                "summary": event_summary(event),
            }
            for event in events
        ],
        "timeline_more": total - len(events),
    }

"""Whether a lead may be called, and the calls made (CONTRACT §9, docs/call-loop.md).

`lead_callability` is the one place that decides; the API, the desk and the attempt log ask it.
The hours and caps are `CallingRule` rows an admin edits; a state's rule only narrows the
federal default.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from leads.events import send_to_tenant_on_commit
from leads.models import CallAttempt, CallingRule, Lead
from leads.selectors import LeadFilters, lead_list, lead_time_zones
from leads.services import lead_updated_event
from leads.timeline import EventKind, lead_event_record

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLLING_PERIOD = timedelta(hours=24)
# Used only if an admin deletes the federal row: 47 CFR 64.1200(c)(1) still applies.
FEDERAL_FALLBACK = (time(8, 0), time(21, 0))
# Enough steps to get past a cap and then to the next window, whatever the rules.
MAX_SEARCH_STEPS = 16

Hours = tuple[time, time] | None


class Reason:
    OK = "ok"
    OUTSIDE_HOURS = "outside_hours"
    DAILY_CAP = "daily_cap"
    DO_NOT_CALL = "do_not_call"
    UNKNOWN_TIME_ZONE = "unknown_time_zone"


REASONS = [
    Reason.OK,
    Reason.OUTSIDE_HOURS,
    Reason.DAILY_CAP,
    Reason.DO_NOT_CALL,
    Reason.UNKNOWN_TIME_ZONE,
]


@dataclass(frozen=True)
class EffectiveRule:
    """The hours per weekday (Monday first; None: no calls that day) and the cap that apply."""

    hours: tuple[Hours, ...]
    max_calls_per_24h: int | None


@dataclass(frozen=True)
class Callability:
    callable: bool
    reason: str
    time_zone: str
    local_time: datetime | None
    window: Hours
    next_allowed_at: datetime | None
    attempts_24h: int


def _parse_time(value: str) -> time:
    return time.fromisoformat(value)


def _rule_hours(rule: CallingRule) -> list[Hours]:
    hours: list[Hours] = []
    for day in WEEKDAYS:
        if day in rule.weekday_hours:
            given = rule.weekday_hours[day]
            hours.append(None if not given else (_parse_time(given[0]), _parse_time(given[1])))
        else:
            hours.append((rule.start, rule.end))
    return hours


def _narrower(first: Hours, second: Hours) -> Hours:
    if first is None or second is None:
        return None
    start, end = max(first[0], second[0]), min(first[1], second[1])
    return (start, end) if start < end else None


def calling_rules() -> dict[str, CallingRule]:
    """Return every calling rule by state ('' for the federal default); a handful of rows."""
    return {rule.state: rule for rule in CallingRule.objects.all()}


def effective_rule(*, state: str, rules: Mapping[str, CallingRule]) -> EffectiveRule:
    federal = rules.get("")
    hours = _rule_hours(federal) if federal else [FEDERAL_FALLBACK] * len(WEEKDAYS)
    caps = [federal.max_calls_per_24h] if federal else []
    local = rules.get(state) if state else None
    if local is not None:
        hours = [_narrower(a, b) for a, b in zip(hours, _rule_hours(local), strict=True)]
        caps.append(local.max_calls_per_24h)
    known_caps = [cap for cap in caps if cap is not None]
    return EffectiveRule(tuple(hours), min(known_caps) if known_caps else None)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _hours_on(rule: EffectiveRule, day: date) -> Hours:
    return rule.hours[day.weekday()]


def _within(rule: EffectiveRule, local: datetime) -> bool:
    hours = _hours_on(rule, local.date())
    return hours is not None and hours[0] <= local.time().replace(tzinfo=None) < hours[1]


def _next_window_start(rule: EffectiveRule, local: datetime) -> datetime | None:
    for offset in range(len(WEEKDAYS) + 1):
        day = local.date() + timedelta(days=offset)
        hours = _hours_on(rule, day)
        if hours is None:
            continue
        start = datetime.combine(day, hours[0], tzinfo=local.tzinfo)
        if start > local:
            return start
    return None


def _attempt_times(lead: Lead, at: datetime) -> list[datetime]:
    """The lead's attempts in the rolling period ending at `at`, oldest first."""
    last = lead.last_attempt_at
    if lead.pk is None or last is None or last <= at - ROLLING_PERIOD:
        return []
    attempts = CallAttempt.objects.filter(lead=lead, at__gt=at - ROLLING_PERIOD, at__lte=at)
    return list(attempts.order_by("at").values_list("at", flat=True))


def _cap_release(rule: EffectiveRule, attempts: list[datetime], at: datetime) -> datetime | None:
    """When the count in the rolling period drops below the cap; None when it already is."""
    cap = rule.max_calls_per_24h
    in_period = [moment for moment in attempts if at - ROLLING_PERIOD < moment <= at]
    if cap is None or len(in_period) < cap:
        return None
    return in_period[len(in_period) - cap] + ROLLING_PERIOD


def lead_callability(
    *, lead: Lead, at: datetime, rules: Mapping[str, CallingRule] | None = None
) -> Callability:
    """Decide whether the lead may be called at `at`, why not, and when it next may be.

    `rules` (from `calling_rules`) saves the query when deciding for many leads.
    """
    zone = _zone(lead.time_zone)
    local = at.astimezone(zone) if zone else None
    if lead.do_not_call:
        return Callability(False, Reason.DO_NOT_CALL, lead.time_zone, local, None, None, 0)
    if zone is None or local is None:
        return Callability(False, Reason.UNKNOWN_TIME_ZONE, lead.time_zone, None, None, None, 0)
    rule = effective_rule(state=lead.state, rules=calling_rules() if rules is None else rules)
    window = _hours_on(rule, local.date())
    attempts = _attempt_times(lead, at) if rule.max_calls_per_24h is not None else []
    in_period = len(attempts)

    reason = Reason.OK
    if not _within(rule, local):
        reason = Reason.OUTSIDE_HOURS
    elif _cap_release(rule, attempts, at) is not None:
        reason = Reason.DAILY_CAP
    if reason == Reason.OK:
        return Callability(True, reason, lead.time_zone, local, window, None, in_period)

    # Step forward: out of hours → the next window; over the cap → when the oldest call ages out.
    moment: datetime | None = local
    for _ in range(MAX_SEARCH_STEPS):
        if moment is None:
            break
        if not _within(rule, moment):
            moment = _next_window_start(rule, moment)
        elif (release := _cap_release(rule, attempts, moment)) is not None:
            moment = release.astimezone(zone)
        else:
            break
    return Callability(False, reason, lead.time_zone, local, window, moment, in_period)


def lead_list_callable_now(
    *, tenant: User, filters: LeadFilters | None = None, now: datetime
) -> QuerySet[Lead]:
    """`lead_list`, keeping only leads `lead_callability` would let the agent call at `now`.

    Hours are decided per time zone (a tenant has a handful, found by index probes, never by
    reading every lead) and, within a zone, once for the states that have a rule of their own and
    once for all the others (the federal rule); the cap is decided lead by lead only for the few
    called in the last 24 hours in a state with a cap.
    """
    rules = calling_rules()
    ruled_states = [state for state in rules if state]
    leads = lead_list(tenant=tenant, filters=filters or LeadFilters()).filter(do_not_call=False)
    open_leads = Q(pk__in=[])
    capped_states: set[str] = set()
    for zone in lead_time_zones(tenant=tenant):

        def callable_in(state: str, zone: str = zone) -> bool:
            probe = Lead(state=state, time_zone=zone)
            return lead_callability(lead=probe, at=now, rules=rules).callable

        open_states = [state for state in ruled_states if callable_in(state)]
        in_zone = Q(state__in=open_states)
        if callable_in(""):
            in_zone |= ~Q(state__in=ruled_states)
        open_leads |= Q(time_zone=zone) & in_zone
        capped_states.update(
            state
            for state in open_states
            if effective_rule(state=state, rules=rules).max_calls_per_24h is not None
        )
    leads = leads.filter(open_leads)
    recently_called = Lead.objects.filter(tenant=tenant, last_attempt_at__gt=now - ROLLING_PERIOD)
    if effective_rule(state="", rules=rules).max_calls_per_24h is None:
        recently_called = recently_called.filter(state__in=capped_states)
    over_cap = [
        lead.pk
        for lead in recently_called
        if not lead_callability(lead=lead, at=now, rules=rules).callable
    ]
    return leads.exclude(pk__in=over_cap) if over_cap else leads


# --- Attempts --------------------------------------------------------------------------------


class CallRefused(Exception):
    """The rules forbid the call now, and no override reason was given."""

    def __init__(self, callability: Callability) -> None:
        super().__init__(callability.reason)
        self.callability = callability


@dataclass(frozen=True)
class AttemptRecorded:
    attempt: CallAttempt
    attempts_total: int
    attempts_24h: int


def call_attempt_record(
    *,
    lead: Lead,
    by: User,
    at: datetime,
    outcome: str = "",
    note: str = "",
    override_reason: str = "",
) -> AttemptRecorded:
    """Record a call to the lead at `at`, unless the rules forbid it and no override is given.

    The lead's row is locked while deciding, so two clicks cannot both pass the cap.
    """
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        answer = lead_callability(lead=locked, at=at)
        if not answer.callable and not override_reason:
            raise CallRefused(answer)
        attempt = CallAttempt.objects.create(
            tenant_id=locked.tenant_id,
            lead=locked,
            at=at,
            outcome=outcome,
            note=note,
            override_reason=override_reason if not answer.callable else "",
            by=by,
        )
        # A call made once the follow-up is due handles it: it leaves the due list.
        follow_up_done = locked.next_follow_up_at is not None and locked.next_follow_up_at <= at
        cleared = {"next_follow_up_at": None, "follow_up_notified_at": None}
        # updated_at moves too: an import merging this lead sees the change (leads/bulk.py).
        Lead.objects.filter(pk=locked.pk).update(
            attempts_total=F("attempts_total") + 1,
            last_attempt_at=at,
            updated_at=timezone.now(),
            **(cleared if follow_up_done else {}),
        )
        lead_event_record(
            lead=locked,
            kind=EventKind.ATTEMPT,
            at=at,
            by=by,
            data={
                "attemptId": attempt.pk,
                "outcome": outcome,
                "note": note,
                "override": attempt.override_reason,
            },
        )
        if follow_up_done:
            assert locked.next_follow_up_at is not None  # what follow_up_done says
            lead_event_record(
                lead=locked,
                kind=EventKind.FOLLOW_UP_DONE,
                at=at,
                by=by,
                data={"old": locked.next_follow_up_at.isoformat(), "attemptId": attempt.pk},
            )
        locked.refresh_from_db()
        send_to_tenant_on_commit(locked.tenant_id, lead_updated_event(locked))
    attempts_24h = CallAttempt.objects.filter(
        lead=locked, at__gt=at - ROLLING_PERIOD, at__lte=at
    ).count()
    return AttemptRecorded(attempt, locked.attempts_total, attempts_24h)


def call_attempt_list(*, tenant: User, lead: Lead) -> QuerySet[CallAttempt]:
    return (
        CallAttempt.objects.filter(tenant=tenant, lead=lead)
        .select_related("by")
        .order_by("-at", "-id")
    )


def call_attempt_note(
    *,
    lead: Lead,
    attempt_id: int,
    by: User,
    at: datetime,
    outcome: str | None = None,
    note: str | None = None,
) -> CallAttempt:
    """Add (or correct) the outcome and note of one of the lead's attempts, after the call."""
    with transaction.atomic():
        attempt = CallAttempt.objects.select_for_update().get(lead=lead, pk=attempt_id)
        changed: dict[str, dict[str, str]] = {}
        if outcome is not None and outcome != attempt.outcome:
            changed["outcome"] = {"old": attempt.outcome, "new": outcome}
            attempt.outcome = outcome
        if note is not None and note != attempt.note:
            changed["note"] = {"old": attempt.note, "new": note}
            attempt.note = note
        if changed:
            attempt.save(update_fields=["outcome", "note"])
            lead_event_record(
                lead=lead,
                kind=EventKind.ATTEMPT_OUTCOME,
                at=at,
                by=by,
                data={"attemptId": attempt.pk, **changed},
            )
    return attempt

"""Follow-ups (CONTRACT §9, docs/call-loop.md): set one inside the lead's calling window, list
them, and ring the agent's sockets with `follow_up_due` when one comes due.

The window is decided by `leads.calling.lead_callability`, the one rule. The scheduler is a
function of `now` (`follow_ups_due_notify`), called by a loop: in the Procfile's worker
(`crokodial.celery`), or on the embedded default in the web process itself (`leads.consumers`).
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.contrib.auth.models import User
from django.db import close_old_connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from leads.calling import Callability, lead_callability
from leads.events import send_to_tenant, send_to_tenant_on_commit
from leads.models import Lead
from leads.serializers import lead_resource
from leads.services import lead_updated_event
from leads.timeline import EventKind, lead_event_record

logger = logging.getLogger(__name__)

# A time picked "now" reaches the server a moment later; older than this is in the past.
PAST_GRACE = timedelta(minutes=1)
# The contract promises the event within 60 s of the due time.
CHECK_SECONDS = 15
# Follow-ups claimed per query; a backlog (after downtime) is worked through in batches.
NOTIFY_BATCH = 500
# A check gives up after this many sends fail in a row (the channel layer is away); one lead whose
# event fails alone does not hold up the others.
SEND_FAILURES_TO_STOP = 3


class FollowUpRefused(Exception):
    """The follow-up time is in the past or outside the lead's calling window."""

    def __init__(self, message: str, callability: Callability | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.callability = callability

    @property
    def next_legal_at(self) -> datetime | None:
        return self.callability.next_allowed_at if self.callability else None


REFUSALS = {
    "outside_hours": "Outside the lead's calling hours at that time.",
    "daily_cap": "The lead will already have had the most calls allowed in 24 hours by then.",
    "do_not_call": "This lead is on your do-not-call list.",
    "unknown_time_zone": "The lead's time zone is unknown, so its calling hours are too.",
}


def lead_follow_up_set(*, lead: Lead, at: datetime | None, by: User | None, now: datetime) -> Lead:
    """Set (or with None clear) the lead's follow-up time, refusing one the rules forbid.

    A new time is rung again when it comes due, even if an earlier one was.
    """
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if at is not None:
            if at < now - PAST_GRACE:
                raise FollowUpRefused("A follow-up time must not be in the past.")
            answer = lead_callability(lead=locked, at=at)
            if not answer.callable:
                raise FollowUpRefused(REFUSALS.get(answer.reason, answer.reason), answer)
        old = locked.next_follow_up_at
        if old == at:
            return locked
        Lead.objects.filter(pk=locked.pk).update(
            next_follow_up_at=at, follow_up_notified_at=None, updated_at=timezone.now()
        )
        locked.refresh_from_db()
        lead_event_record(
            lead=locked,
            kind=EventKind.FOLLOW_UP_SET if at else EventKind.FOLLOW_UP_CLEARED,
            by=by,
            at=now,
            data={"old": _iso(old), "new": _iso(at)},
        )
        send_to_tenant_on_commit(locked.tenant_id, lead_updated_event(locked))
    return locked


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def follow_up_list(*, tenant: User, due_at: datetime | None = None) -> QuerySet[Lead]:
    """The tenant's leads with a follow-up, soonest (most overdue) first; with `due_at`, only
    those due by then."""
    leads = Lead.objects.filter(tenant=tenant, next_follow_up_at__isnull=False)
    if due_at is not None:
        leads = leads.filter(next_follow_up_at__lte=due_at)
    return leads.order_by("next_follow_up_at", "id")


def follow_up_due_event(lead: Lead) -> dict:
    return {"type": "follow_up_due", "lead": lead_resource(lead)}


def follow_ups_due_notify(*, now: datetime) -> int:
    """Send `follow_up_due` for every follow-up due by `now` not yet rung; return how many.

    Each is claimed by a conditional UPDATE (still due, still the same time, not yet rung)
    before its event is sent, so two schedulers, or one restarted, never send it twice. When the
    send fails, the claim is given back, so a later check rings it; after SEND_FAILURES_TO_STOP
    failures in a row (Redis is away) this check stops. A send that timed out and still arrived
    later would ring twice; a follow-up that never rings is the worse failure.
    """
    sent = failures = 0
    while True:
        due = list(
            Lead.objects.filter(
                next_follow_up_at__isnull=False,
                next_follow_up_at__lte=now,
                follow_up_notified_at__isnull=True,
            )
            .order_by("next_follow_up_at")
            .values_list("pk", "next_follow_up_at")[:NOTIFY_BATCH]
        )
        for pk, due_at in due:
            claimed = Lead.objects.filter(
                pk=pk, next_follow_up_at=due_at, follow_up_notified_at__isnull=True
            ).update(follow_up_notified_at=now)
            if not claimed:
                continue
            lead = Lead.objects.filter(pk=pk).first()
            if lead is None:
                continue
            rung: list[bool] = []
            send_to_tenant(
                lead.tenant_id, follow_up_due_event(lead), on_sent=partial(rung.append, True)
            )
            if not rung:
                Lead.objects.filter(pk=pk, follow_up_notified_at=now).update(
                    follow_up_notified_at=None
                )
                failures += 1
                if failures >= SEND_FAILURES_TO_STOP:
                    return sent
                continue
            sent += 1
            failures = 0
        if len(due) < NOTIFY_BATCH:
            return sent


def follow_up_scheduler_run(
    stop: threading.Event, *, clock: Callable[[], datetime] = timezone.now
) -> None:
    """Ring due follow-ups every CHECK_SECONDS until `stop` is set (a thread's target)."""
    while True:
        try:
            follow_ups_due_notify(now=clock())
        except Exception:
            logger.exception("follow-up check failed; trying again later")
        finally:
            close_old_connections()
        if stop.wait(CHECK_SECONDS):
            return


_in_process_loop: asyncio.AbstractEventLoop | None = None
_in_process_task: "asyncio.Task[None] | None" = None


def follow_up_scheduler_start_in_process() -> None:
    """Run the scheduler on this web process's event loop, once per loop.

    For the embedded default (no REDIS_URL): its in-memory channel layer reaches only this
    process's sockets, and there is no worker process to run the loop.
    """
    global _in_process_loop, _in_process_task
    loop = asyncio.get_running_loop()
    if _in_process_loop is loop:
        return
    _in_process_loop = loop
    _in_process_task = loop.create_task(_in_process_checks(), name="follow-up-scheduler")


async def _in_process_checks() -> None:
    from channels.db import database_sync_to_async

    check = database_sync_to_async(lambda: follow_ups_due_notify(now=timezone.now()))
    while True:
        try:
            await check()
        except Exception:
            logger.exception("follow-up check failed; trying again later")
        await asyncio.sleep(CHECK_SECONDS)

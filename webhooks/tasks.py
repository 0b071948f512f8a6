"""The fast path's worker side: store each queued lead, however long the database is away.

How a queued lead is retried and when it is dead-lettered: docs/durability.md.
"""

import logging
import random
import threading
import time
from typing import Any

from celery import shared_task
from celery.exceptions import Reject, Retry
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)

from webhooks.batching import BatchFailed, GroupCommit
from webhooks.dead_letters import NEXTGEN_LEAD_PERSIST_TASK, dead_letter_record
from webhooks.serializers import nextgen_payload_validate
from webhooks.services import NextGenDelivery, nextgen_lead_receive, nextgen_leads_receive

logger = logging.getLogger(__name__)

# The leads waiting in the worker's threads are stored together: one transaction, one commit.
# A batch holds at most one lead per thread (CELERY_CONCURRENCY); this only caps a huge pool.
LEAD_BATCH_MAX_SIZE = 100
_lead_batches: GroupCommit[NextGenDelivery] = GroupCommit(
    lambda deliveries: nextgen_leads_receive(deliveries=deliveries),
    max_size=LEAD_BATCH_MAX_SIZE,
)

# The database is away (or the connection broke): wait for it, for as long as it takes.
DATABASE_AWAY = (OperationalError, InterfaceError)
# Anything else that raises (a bug, a constraint race) gets this many attempts in all.
FAILING_ATTEMPTS = 3
# Worker threads wait on this between attempts; set when the worker shuts down
# (crokodial.celery), so that they republish their messages at once instead.
_stopping = threading.Event()


def retries_stop_waiting() -> None:
    _stopping.set()


class _Unstorable(Exception):
    """The queued lead will never be stored as it is: record it as a dead letter."""


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, …): doubling, capped, jittered."""
    ceiling = min(settings.QUEUED_LEAD_RETRY_MAX_DELAY, 0.25 * 2 ** min(attempt, 20))
    return random.uniform(ceiling / 2, ceiling)


@shared_task(
    name=NEXTGEN_LEAD_PERSIST_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def nextgen_lead_persist(
    self,
    tenant_id: int,
    payload: dict,
    trace_id: str,
    stub_id: str,
    received_epoch: float,
    attempts: int = 0,
) -> None:
    """Store a lead the fast path queued, then replace its stub on the agent's screens.

    Delivered at least once (acks_late): a redelivery merges into the stored lead, so each
    acknowledged lead is stored exactly once. The message is acknowledged only once the lead is
    committed, or recorded as a dead letter, or republished (below).

    The task holds its message for at most QUEUED_LEAD_HOLD_SECONDS, half the broker's
    visibility timeout, so the broker never hands it out again while it runs. Past that it
    republishes the message, without an ETA, and returns: the retries never end, and no worker
    sits on an ETA message long enough for the broker to restore a second copy of it.
    """
    started = time.monotonic()
    failures = 0
    while True:
        attempts += 1
        try:
            _store(tenant_id, payload, trace_id, stub_id, received_epoch)
            return
        except DATABASE_AWAY as error:
            logger.warning("nextgen_lead_persist trace_id=%s: database away (%s)", trace_id, error)
        except _Unstorable as error:
            _dead_letter(self, error.__cause__ or error, attempts, started)
            return
        except Exception as error:
            failures += 1
            logger.exception("nextgen_lead_persist trace_id=%s failed", trace_id)
            if failures >= FAILING_ATTEMPTS:
                _dead_letter(self, error, attempts, started)
                return
        _drop_broken_connection()
        _wait_or_requeue(self, attempts, started)


def _store(
    tenant_id: int, payload: dict, trace_id: str, stub_id: str, received_epoch: float
) -> None:
    try:
        fields = nextgen_payload_validate(payload)
    except Exception as error:  # the web side checked the same rules: this will not pass later
        raise _Unstorable() from error
    delivery = NextGenDelivery(
        tenant_id=tenant_id,
        fields=fields,
        trace_id=trace_id,
        received_at=time.perf_counter() - (time.time() - received_epoch),
        stub_id=stub_id,
    )
    try:
        _lead_batches.submit(delivery)
    except BatchFailed:
        # Nothing of the batch was stored: store this lead alone, to see what fails.
        nextgen_lead_receive(delivery=delivery)


def _dead_letter(task: Any, error: BaseException, attempts: int, started: float) -> None:
    """Record the lead as a dead letter; until that is written, keep retrying the message."""
    tenant_id, payload, trace_id, stub_id, received_epoch = task.request.args[:5]
    while True:
        try:
            dead_letter_record(
                tenant_id=tenant_id,
                payload=payload,
                trace_id=trace_id,
                stub_id=stub_id,
                received_epoch=received_epoch,
                error=error,
                attempts=attempts,
            )
            logger.error("nextgen_lead_persist trace_id=%s dead-lettered: %r", trace_id, error)
            return
        except DatabaseError as failure:
            logger.warning("trace_id=%s: dead letter not written (%s)", trace_id, failure)
        _drop_broken_connection()
        _wait_or_requeue(task, attempts, started)


def _drop_broken_connection() -> None:
    """Let the next attempt open a fresh connection if this one broke (not inside a caller's
    transaction, as in tests, which would lose it)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _wait_or_requeue(task: Any, attempts: int, started: float) -> None:
    """Wait before the next attempt, or republish the message if that would hold it too long."""
    delay = retry_delay(attempts)
    held = time.monotonic() - started
    if held + delay < settings.QUEUED_LEAD_HOLD_SECONDS and not _stopping.wait(delay):
        return
    try:
        # countdown=0: no ETA, so the copy waits in the queue, not unacknowledged in a worker.
        tenant_id, _, trace_id, stub_id, _ = task.request.args[:5]
        raise task.retry(
            args=task.request.args[:5],
            kwargs={"attempts": attempts},
            countdown=0,
            argsrepr=f"[{tenant_id}, <lead>, {trace_id!r}, {stub_id!r}]",
            kwargsrepr=f"{{'attempts': {attempts}}}",
        )
    except Retry:
        raise
    except Exception as error:  # the broker refused the copy (celery's Reject drops it)
        logger.warning("nextgen_lead_persist could not be republished: %s", error)
        raise Reject(error, requeue=True) from error

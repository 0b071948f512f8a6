"""Queued leads that cannot be stored: record them, and put them back on the queue.

Writes, like `webhooks.services`; kept apart because only the worker and the admin use them.
"""

import datetime
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from webhooks import metrics
from webhooks.models import DeadLetterStatus, QueuedLeadDeadLetter

# webhooks.tasks.nextgen_lead_persist, named here because that module imports this one.
NEXTGEN_LEAD_PERSIST_TASK = "webhooks.tasks.nextgen_lead_persist"


def dead_letter_record(
    *,
    tenant_id: int,
    payload: Any,
    trace_id: str,
    stub_id: str,
    received_epoch: float,
    error: BaseException,
    attempts: int,
) -> QueuedLeadDeadLetter:
    """Keep a queued lead that will not be stored, or update its record if it has one.

    Raise DatabaseError when it cannot be written: the caller must then keep the message.
    """
    now = timezone.now()
    first_seen = datetime.datetime.fromtimestamp(received_epoch, tz=datetime.UTC)
    described = f"{type(error).__name__}: {error}"[:10_000]
    with transaction.atomic():
        letter, created = QueuedLeadDeadLetter.objects.select_for_update().get_or_create(
            stub_id=stub_id,
            defaults={
                "tenant_id": tenant_id,
                "payload": payload,
                "trace_id": trace_id[:200],
                "error": described,
                "attempts": attempts,
                "first_seen_at": min(first_seen, now),
                "last_seen_at": now,
            },
        )
        if not created:
            letter.payload = payload
            letter.error = described
            letter.attempts += attempts
            letter.last_seen_at = now
            letter.status = DeadLetterStatus.OPEN
            letter.save(update_fields=["payload", "error", "attempts", "last_seen_at", "status"])
    metrics.DEAD_LETTERS.inc()
    return letter


def dead_letter_redrive(*, letters: list[QueuedLeadDeadLetter]) -> int:
    """Queue the leads of open `letters` again, with their (possibly corrected) payloads.

    Return how many were queued. A re-driven lead that fails again reopens its record.
    """
    queued = 0
    for letter in letters:
        if letter.status != DeadLetterStatus.OPEN:
            continue
        with transaction.atomic():
            updated = QueuedLeadDeadLetter.objects.filter(
                pk=letter.pk, status=DeadLetterStatus.OPEN
            ).update(
                status=DeadLetterStatus.REDRIVEN,
                redriven_at=timezone.now(),
                redrive_count=F("redrive_count") + 1,
            )
            if not updated:
                continue
            transaction.on_commit(partial(_queue_again, letter))
        queued += 1
    return queued


def _queue_again(letter: QueuedLeadDeadLetter) -> None:
    # By name: webhooks.tasks imports this module, not the other way round.
    current_app.signature(NEXTGEN_LEAD_PERSIST_TASK).apply_async(
        args=[
            letter.tenant_id,
            letter.payload,
            letter.trace_id,
            letter.stub_id,
            letter.first_seen_at.timestamp(),
        ],
        argsrepr=f"[{letter.tenant_id}, <lead>, {letter.trace_id!r}, {letter.stub_id!r}]",
        kwargsrepr="{}",
    )

import time

from celery import shared_task
from django.db import DatabaseError

from webhooks.batching import BatchFailed, GroupCommit
from webhooks.serializers import nextgen_payload_validate
from webhooks.services import NextGenDelivery, nextgen_lead_receive, nextgen_leads_receive

# The leads waiting in the worker's threads are stored together: one transaction, one commit.
# A batch holds at most one lead per thread (CELERY_CONCURRENCY); this only caps a huge pool.
LEAD_BATCH_MAX_SIZE = 100
_lead_batches: GroupCommit[NextGenDelivery] = GroupCommit(
    lambda deliveries: nextgen_leads_receive(deliveries=deliveries),
    max_size=LEAD_BATCH_MAX_SIZE,
)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=10,
)
def nextgen_lead_persist(
    tenant_id: int, payload: dict, trace_id: str, stub_id: str, received_epoch: float
) -> None:
    """Store a lead the fast path queued, then replace its stub on the agent's screens.

    Delivered at least once (acks_late): a redelivery merges into the stored lead, so each
    acknowledged lead is stored exactly once. The task returns, and its message is acknowledged,
    only once the batch holding its lead has committed.
    """
    fields = nextgen_payload_validate(payload)
    received_at = time.perf_counter() - (time.time() - received_epoch)
    delivery = NextGenDelivery(
        tenant_id=tenant_id,
        fields=fields,
        trace_id=trace_id,
        received_at=received_at,
        stub_id=stub_id,
    )
    try:
        _lead_batches.submit(delivery)
    except BatchFailed:
        # Nothing of the batch was stored: store this lead alone, under this task's retries.
        nextgen_lead_receive(delivery=delivery)

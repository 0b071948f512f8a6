import time

from celery import shared_task
from django.db import DatabaseError

from webhooks.serializers import nextgen_payload_validate
from webhooks.services import NextGenDelivery, nextgen_lead_receive


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
    acknowledged lead is stored exactly once.
    """
    fields = nextgen_payload_validate(payload)
    received_at = time.perf_counter() - (time.time() - received_epoch)
    nextgen_lead_receive(
        delivery=NextGenDelivery(
            tenant_id=tenant_id,
            fields=fields,
            trace_id=trace_id,
            received_at=received_at,
            stub_id=stub_id,
        )
    )

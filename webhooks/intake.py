"""One NextGen webhook call, from raw bytes to the answer, whichever server path carried it.

`nextgen_webhook_answer` is the whole request pipeline: size, credentials, body, validation,
upsert. The DRF view (`webhooks.apis`) and the lean ASGI route (`webhooks.asgi`) both call it,
so they cannot behave differently.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import QueryDict
from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from rest_framework.exceptions import ValidationError

from leads.bounds import NUL, json_loads_bounded
from leads.errors import first_message
from leads.events import send_to_tenant
from webhooks import metrics
from webhooks.serializers import nextgen_payload_validate
from webhooks.services import (
    NextGenDelivery,
    elapsed_ms,
    nextgen_credential_tenant,
    nextgen_credential_tenant_cached,
    nextgen_lead_receive,
    nextgen_stub_event,
)
from webhooks.switch import fast_path_enabled
from webhooks.tasks import nextgen_lead_persist

logger = logging.getLogger("crokodial.webhooks")

RETRY_AFTER_SECONDS = 5
TRACE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass
class WebhookAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    def __init__(
        self, status: int, error: str, fields: Any = None, headers: dict | None = None
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.fields = status, error, fields
        self.headers = headers or {}


def trace_id_for(headers: Mapping[str, str]) -> str:
    incoming = headers.get("x-request-id", "")
    return incoming if TRACE_ID.fullmatch(incoming) else uuid.uuid4().hex


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _payload(body: bytes, content_type: str) -> Any:
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        if content_type.startswith("multipart/"):
            raise Rejected(HTTPStatus.BAD_REQUEST, "Send JSON or a form-encoded body.")
        return QueryDict(body, encoding="utf-8")
    try:
        return json_loads_bounded(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise Rejected(HTTPStatus.BAD_REQUEST, f"The body is not valid JSON: {error}") from None


def nextgen_webhook_answer(
    *, headers: Mapping[str, str], body: bytes, received_at: float | None = None
) -> WebhookAnswer:
    """Answer one webhook call. `headers` must have lower-case names."""
    received_at = received_at or time.perf_counter()
    trace_id = trace_id_for(headers)
    tenant_id = None
    fast = fast_path_enabled()
    try:
        if any(NUL in value for value in headers.values()):
            raise Rejected(HTTPStatus.BAD_REQUEST, "Header values must not contain NUL bytes.")
        authenticate = nextgen_credential_tenant_cached if fast else nextgen_credential_tenant
        tenant_id = authenticate(sid=headers.get("sid", ""), api_key=headers.get("apikey", ""))
        if tenant_id is None:
            raise Rejected(HTTPStatus.UNAUTHORIZED, "Missing or invalid sid/apikey headers.")
        payload = _payload(body, headers.get("content-type", ""))
        if not isinstance(payload, dict):
            raise Rejected(HTTPStatus.BAD_REQUEST, "Send one JSON object.")
        try:
            fields = nextgen_payload_validate(payload)
        except ValidationError as error:
            message = first_message(error.detail)
            raise Rejected(HTTPStatus.BAD_REQUEST, message, error.detail) from None
        if fast:
            answer, outcome = _queue(tenant_id, payload, fields, trace_id, received_at), "queued"
        else:
            answer = _store(tenant_id, fields, trace_id, received_at)
            outcome = "created" if answer.body["isNew"] else "updated"
    except (OperationalError, InterfaceError) as error:
        # The database is down (docs/failures.md): nothing was stored, the vendor retries.
        logger.warning("nextgen_delivery trace_id=%s database unavailable: %s", trace_id, error)
        answer = _refused(
            Rejected(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "The lead store is unavailable; nothing was stored. Retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ),
            trace_id,
        )
        outcome = "unavailable"
    except Rejected as rejection:
        answer = _refused(rejection, trace_id)
        unavailable = rejection.status == HTTPStatus.SERVICE_UNAVAILABLE
        outcome = "unavailable" if unavailable else "rejected"
    process_ms = answer.body.get("processMs") or elapsed_ms(received_at)
    return _finish(answer, trace_id, tenant_id, outcome, process_ms, fast=fast)


def nextgen_refusal(*, headers: Mapping[str, str], status: int, error: str) -> WebhookAnswer:
    """Answer a call refused before its body was read (crokodial.edge: size, slowness)."""
    trace_id = trace_id_for(headers)
    answer = _refused(Rejected(status, error), trace_id)
    return _finish(answer, trace_id, None, "rejected", 0.0, fast=fast_path_enabled())


def _refused(rejection: Rejected, trace_id: str) -> WebhookAnswer:
    body_out: dict[str, Any] = {"success": False, "error": rejection.error}
    if rejection.fields:
        body_out["fields"] = rejection.fields
    body_out["traceId"] = trace_id
    answer = WebhookAnswer(status=rejection.status, body=body_out, headers=rejection.headers)
    if rejection.status == HTTPStatus.UNAUTHORIZED:
        answer.headers["WWW-Authenticate"] = 'ApiKey header="apikey"'
    return answer


def _store(
    tenant_id: int, fields: dict[str, Any], trace_id: str, received_at: float
) -> WebhookAnswer:
    """Default path: upsert now; the answer follows the commit."""
    delivery = nextgen_lead_receive(
        delivery=NextGenDelivery(
            tenant_id=tenant_id, fields=fields, trace_id=trace_id, received_at=received_at
        )
    )
    result = delivery.result
    assert result is not None  # nextgen_lead_receive stored it
    is_new = result.is_new
    body = {
        "success": True,
        "leadId": result.lead.pk,
        "isNew": is_new,
        # Inside an outer transaction the event waits for that commit: time so far.
        "processMs": delivery.process_ms or elapsed_ms(received_at),
        "traceId": trace_id,
    }
    if result.lead.do_not_call:
        # Only when listed: the answer of CONTRACT §4 keeps its keys for every other lead.
        body["doNotCall"] = True
    return WebhookAnswer(status=HTTPStatus.CREATED if is_new else HTTPStatus.OK, body=body)


def _queue(
    tenant_id: int, payload: Any, fields: dict[str, Any], trace_id: str, received_at: float
) -> WebhookAnswer:
    """Fast path: hand the lead to the worker, show its stub, answer 202 — or 503 if no queue."""
    stub_id = uuid.uuid4().hex
    body = payload.dict() if isinstance(payload, QueryDict) else payload
    try:
        nextgen_lead_persist.apply_async(
            args=[tenant_id, body, trace_id, stub_id, time.time()],
            retry=False,
            # Celery would otherwise repr the whole body into the message headers: a third of
            # this request's CPU, and the lead's personal data in every task log line.
            argsrepr=f"[{tenant_id}, <lead>, {trace_id!r}, {stub_id!r}]",
            kwargsrepr="{}",
        )
    except (KombuError, OSError, RedisError):
        logger.exception("nextgen_delivery trace_id=%s could not be queued", trace_id)
        raise Rejected(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "The lead queue is unavailable; nothing was stored. Retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    send_to_tenant(
        tenant_id,
        nextgen_stub_event(stub_id=stub_id, fields=fields, trace_id=trace_id),
        on_sent=lambda: metrics.BROADCAST_SECONDS.labels("fast").observe(
            time.perf_counter() - received_at
        ),
    )
    return WebhookAnswer(
        status=HTTPStatus.ACCEPTED, body={"success": True, "queued": True, "traceId": trace_id}
    )


def _finish(
    answer: WebhookAnswer,
    trace_id: str,
    tenant_id: int | None,
    outcome: str,
    process_ms: float,
    *,
    fast: bool,
) -> WebhookAnswer:
    answer.headers["X-Process-Time"] = str(process_ms)
    answer.headers["X-Request-ID"] = trace_id
    path = "fast" if fast else "default"
    metrics.DELIVERIES.labels(outcome, path).inc()
    metrics.PROCESS_SECONDS.labels(path).observe(process_ms / 1000)
    logger.info(
        "nextgen_delivery",
        extra={
            "trace_id": trace_id,
            "tenant": tenant_id,
            "status": answer.status,
            "outcome": outcome,
            "path": path,
            "process_ms": process_ms,
        },
    )
    return answer

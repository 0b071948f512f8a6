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

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from leads.errors import first_message
from webhooks import metrics
from webhooks.serializers import nextgen_payload_validate
from webhooks.services import (
    NextGenDelivery,
    elapsed_ms,
    nextgen_credential_tenant,
    nextgen_lead_receive,
)

logger = logging.getLogger("crokodial.webhooks")

MAX_BODY_BYTES = 1024 * 1024
TRACE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass
class WebhookAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, status: int, error: str, fields: dict | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.fields = status, error, fields


def trace_id_for(headers: Mapping[str, str]) -> str:
    incoming = headers.get("x-request-id", "")
    return incoming if TRACE_ID.fullmatch(incoming) else uuid.uuid4().hex


def _payload(body: bytes, content_type: str) -> Any:
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        if content_type.startswith("multipart/"):
            raise Rejected(HTTPStatus.BAD_REQUEST, "Send JSON or a form-encoded body.")
        return QueryDict(body, encoding="utf-8")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Rejected(HTTPStatus.BAD_REQUEST, f"The body is not valid JSON: {error}") from None


def nextgen_webhook_answer(
    *, headers: Mapping[str, str], body: bytes, received_at: float | None = None
) -> WebhookAnswer:
    """Answer one webhook call. `headers` must have lower-case names."""
    received_at = received_at or time.perf_counter()
    trace_id = trace_id_for(headers)
    tenant_id = None
    try:
        declared = headers.get("content-length", "")
        if len(body) > MAX_BODY_BYTES or (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
            raise Rejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The body is over 1024 KB.")
        tenant_id = nextgen_credential_tenant(
            sid=headers.get("sid", ""), api_key=headers.get("apikey", "")
        )
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
        delivery = nextgen_lead_receive(
            delivery=NextGenDelivery(
                tenant_id=tenant_id,
                fields=fields,
                trace_id=trace_id,
                received_at=received_at,
            )
        )
        # Inside an outer transaction the event waits for that commit; answer with time so far.
        process_ms = delivery.process_ms or elapsed_ms(received_at)
        is_new = delivery.result.is_new
        answer = WebhookAnswer(
            status=HTTPStatus.CREATED if is_new else HTTPStatus.OK,
            body={
                "success": True,
                "leadId": delivery.result.lead.pk,
                "isNew": is_new,
                "processMs": process_ms,
                "traceId": trace_id,
            },
        )
        outcome = "created" if is_new else "updated"
    except Rejected as rejection:
        body_out: dict[str, Any] = {"success": False, "error": rejection.error}
        if rejection.fields:
            body_out["fields"] = rejection.fields
        body_out["traceId"] = trace_id
        answer = WebhookAnswer(status=rejection.status, body=body_out)
        if rejection.status == HTTPStatus.UNAUTHORIZED:
            answer.headers["WWW-Authenticate"] = 'ApiKey header="apikey"'
        outcome = "rejected"
        process_ms = elapsed_ms(received_at)

    answer.headers["X-Process-Time"] = str(process_ms)
    answer.headers["X-Request-ID"] = trace_id
    metrics.DELIVERIES.labels(outcome).inc()
    metrics.PROCESS_SECONDS.observe(process_ms / 1000)
    logger.info(
        "nextgen_delivery trace_id=%s tenant=%s status=%s outcome=%s process_ms=%s",
        trace_id,
        tenant_id,
        answer.status,
        outcome,
        process_ms,
    )
    return answer

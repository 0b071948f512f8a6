import logging
import re
import time
import uuid
from http import HTTPStatus
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks import metrics
from webhooks.serializers import NextGenLeadSerializer
from webhooks.services import (
    NextGenDelivery,
    elapsed_ms,
    nextgen_credential_tenant,
    nextgen_lead_receive,
)

logger = logging.getLogger("crokodial.webhooks")

MAX_BODY_BYTES = 1024 * 1024
TRACE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class BodyTooLarge(exceptions.APIException):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The body is over {MAX_BODY_BYTES // 1024} KB."


class BadCredentials(exceptions.APIException):
    status_code = HTTPStatus.UNAUTHORIZED
    default_detail = "Missing or invalid sid/apikey headers."


def trace_id_for(request: Request) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if TRACE_ID.fullmatch(incoming) else uuid.uuid4().hex


WEBHOOK_ANSWER = inline_serializer(
    "NextGenAnswer",
    {
        "success": serializers.BooleanField(),
        "leadId": serializers.IntegerField(),
        "isNew": serializers.BooleanField(),
        "processMs": serializers.FloatField(),
        "traceId": serializers.CharField(),
    },
)
WEBHOOK_ERROR = inline_serializer(
    "NextGenError",
    {
        "success": serializers.BooleanField(),
        "error": serializers.CharField(),
        "fields": serializers.DictField(required=False),
        "traceId": serializers.CharField(),
    },
)


class NextGenWebhookApi(APIView):
    """Where NextGen posts each lead it sells to the agent who owns the sid/apikey headers."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.received_at = time.perf_counter()
        self.trace_id = trace_id_for(request)
        super().initial(request, *args, **kwargs)
        declared = request.headers.get("Content-Length", "")
        if (declared.isdigit() and int(declared) > MAX_BODY_BYTES) or len(
            request.body
        ) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        self.tenant_id = nextgen_credential_tenant(
            sid=request.headers.get("sid", ""), api_key=request.headers.get("apikey", "")
        )
        if self.tenant_id is None:
            raise BadCredentials()

    @extend_schema(
        request=NextGenLeadSerializer,
        parameters=[
            OpenApiParameter("sid", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("apikey", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Request-ID", str, OpenApiParameter.HEADER),
        ],
        responses={
            201: WEBHOOK_ANSWER,
            200: WEBHOOK_ANSWER,
            202: inline_serializer(
                "NextGenQueued",
                {
                    "success": serializers.BooleanField(),
                    "queued": serializers.BooleanField(),
                    "traceId": serializers.CharField(),
                },
            ),
            400: WEBHOOK_ERROR,
            401: WEBHOOK_ERROR,
            413: WEBHOOK_ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send one JSON object."]})
        serializer = NextGenLeadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        delivery = nextgen_lead_receive(
            delivery=NextGenDelivery(
                tenant_id=self.tenant_id,
                fields=serializer.lead_fields(),
                trace_id=self.trace_id,
                received_at=self.received_at,
            )
        )
        is_new = delivery.result.is_new
        # Inside an outer transaction the event waits for that commit; answer with time so far.
        delivery.process_ms = delivery.process_ms or elapsed_ms(self.received_at)
        return Response(
            {
                "success": True,
                "leadId": delivery.result.lead.pk,
                "isNew": is_new,
                "processMs": delivery.process_ms,
                "traceId": self.trace_id,
            },
            status=HTTPStatus.CREATED if is_new else HTTPStatus.OK,
            headers={"X-Process-Time": str(delivery.process_ms)},
        )

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        response.data = {"success": False, **response.data, "traceId": self.trace_id}
        return response

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["X-Request-ID"] = self.trace_id
        process_ms = elapsed_ms(self.received_at)
        response.setdefault("X-Process-Time", str(process_ms))
        outcome = {201: "created", 200: "updated"}.get(response.status_code, "rejected")
        metrics.DELIVERIES.labels(outcome).inc()
        metrics.PROCESS_SECONDS.observe(process_ms / 1000)
        logger.info(
            "nextgen_delivery trace_id=%s tenant=%s status=%s outcome=%s process_ms=%s",
            self.trace_id,
            getattr(self, "tenant_id", None),
            response.status_code,
            outcome,
            process_ms,
        )
        return response

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks.intake import nextgen_webhook_answer
from webhooks.serializers import NextGenLeadSerializer

WEBHOOK_ANSWER = inline_serializer(
    "NextGenAnswer",
    {
        "success": serializers.BooleanField(),
        "leadId": serializers.IntegerField(),
        "isNew": serializers.BooleanField(),
        "doNotCall": serializers.BooleanField(
            required=False,
            help_text="The lead's phone is on the agent's do-not-call list: never call it.",
        ),
        "processMs": serializers.FloatField(),
        "traceId": serializers.CharField(),
    },
)
WEBHOOK_QUEUED = inline_serializer(
    "NextGenQueued",
    {
        "success": serializers.BooleanField(),
        "queued": serializers.BooleanField(
            help_text="Stored by the worker; its do-not-call flag arrives with the lead's "
            "lead_updated event (docs/dnc.md)."
        ),
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


class RawBodyParser(BaseParser):
    """Leave the body to the intake pipeline, which reads JSON and form bodies itself."""

    media_type = "*/*"


class NextGenWebhookApi(APIView):
    """Where NextGen posts each lead it sells to the agent who owns the sid/apikey headers.

    Under the production ASGI server this URL is answered by `webhooks.asgi` before Django's
    middleware; both call the same `nextgen_webhook_answer`.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [RawBodyParser]

    @extend_schema(
        request={
            "application/json": NextGenLeadSerializer,
            "application/x-www-form-urlencoded": NextGenLeadSerializer,
        },
        parameters=[
            OpenApiParameter("sid", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("apikey", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Request-ID", str, OpenApiParameter.HEADER),
        ],
        responses={
            201: WEBHOOK_ANSWER,
            200: WEBHOOK_ANSWER,
            202: WEBHOOK_QUEUED,
            400: WEBHOOK_ERROR,
            401: WEBHOOK_ERROR,
            413: WEBHOOK_ERROR,
            503: WEBHOOK_ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = nextgen_webhook_answer(headers=headers, body=request.body)
        return Response(answer.body, status=answer.status, headers=answer.headers)

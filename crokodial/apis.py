"""Project-level endpoints that belong to no single app: health, metrics and API tokens."""

import hmac
import logging

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from prometheus_client.exposition import choose_encoder
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crokodial.metrics import metrics_registry
from crokodial.outages import RETRY_AFTER_SECONDS
from leads.apis import ERROR_SCHEMA
from leads.bounds import MAX_PASSWORD_LENGTH
from leads.forms import USERNAME_MAX_LENGTH

logger = logging.getLogger(__name__)


def _database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("health check: database unreachable: %s", error)
        return "error"
    return "ok"


def _channel_layer_check() -> str:
    if get_channel_layer() is None:
        return "disabled"
    if not settings.REDIS_URL:
        return "ok"
    try:
        with redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        ) as client:
            client.ping()
    except redis.RedisError as error:
        logger.warning("health check: Redis unreachable: %s", error)
        return "error"
    return "ok"


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(["ok", "error"]),
                    "checks": serializers.DictField(child=serializers.CharField()),
                },
            ),
            503: inline_serializer(
                "HealthError",
                {"status": serializers.CharField(), "checks": serializers.DictField()},
            ),
        }
    )
    def get(self, request: Request) -> Response:
        checks = {"database": _database_check(), "channel_layer": _channel_layer_check()}
        healthy = "error" not in checks.values()
        return Response(
            {"status": "ok" if healthy else "error", "checks": checks},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={} if healthy else {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class AuthTokenApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="Credentials")
    class InputSerializer(serializers.Serializer):
        # Bounded before authenticate(): the lockout table stores the username it was given.
        username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
        password = serializers.CharField(trim_whitespace=False, max_length=MAX_PASSWORD_LENGTH)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer("AuthToken", {"token": serializers.CharField()}),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request._request, **serializer.validated_data)
        if user is None:
            return Response(
                {"error": "Invalid username or password."}, status=status.HTTP_401_UNAUTHORIZED
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve Prometheus metrics to staff, or to a scraper holding METRICS_TOKEN."""
    authorization = request.headers.get("Authorization", "")
    token_ok = bool(settings.METRICS_TOKEN) and hmac.compare_digest(
        authorization.encode(), f"Bearer {settings.METRICS_TOKEN}".encode()
    )
    if not token_ok and not (request.user.is_authenticated and request.user.is_staff):
        return HttpResponse(
            "Metrics need staff login or the metrics bearer token.\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Negotiate like prometheus_client's own exporter: the classic text format (0.0.4) that every
    # scraper reads, unless the scraper asks for OpenMetrics or text 1.0.0.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics_registry()), content_type=content_type)

"""The call loop's API (CONTRACT §9): callability and the attempt log."""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import services
from leads.apis import ERROR_SCHEMA, ID_SCHEMA, LEAD_ID
from leads.calling import (
    REASONS,
    Callability,
    CallRefused,
    call_attempt_list,
    call_attempt_note,
    call_attempt_record,
    lead_callability,
)
from leads.models import (
    CALL_NOTE_MAX_LENGTH,
    OVERRIDE_REASON_MAX_LENGTH,
    CallAttempt,
    CallOutcome,
)
from leads.pagination import PAGE_PARAMETERS, PageParamsSerializer, page_of, page_schema
from leads.selectors import lead_get
from leads.tenancy import request_tenant

AT_MAX_LENGTH = 64
# A calendar people call in; also keeps every later step clear of datetime's year limits.
AT_YEARS = (1971, 2200)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def callability_resource(answer: Callability) -> dict[str, Any]:
    window = answer.window
    return {
        "callable": answer.callable,
        "reason": answer.reason,
        "localTime": _iso(answer.local_time),
        "timeZone": answer.time_zone,
        "window": {"start": window[0].strftime("%H:%M"), "end": window[1].strftime("%H:%M")}
        if window
        else None,
        "nextAllowedAt": _iso(answer.next_allowed_at),
    }


CALLABILITY_FIELDS: dict[str, serializers.Field] = {
    "callable": serializers.BooleanField(),
    "reason": serializers.ChoiceField(REASONS),
    "localTime": serializers.DateTimeField(
        allow_null=True, help_text="Now (or `at`) in the lead's time zone; null when unknown."
    ),
    "timeZone": serializers.CharField(help_text="IANA name; empty when unknown."),
    "window": inline_serializer(
        "CallingWindow",
        {"start": serializers.CharField(), "end": serializers.CharField()},
        allow_null=True,
        help_text="That local day's calling hours (HH:MM, end excluded); null: no calls.",
    ),
    "nextAllowedAt": serializers.DateTimeField(
        allow_null=True, help_text="The next moment a call is allowed, in the lead's local time."
    ),
}
CALLABILITY_SCHEMA = inline_serializer("Callability", CALLABILITY_FIELDS)
CALL_REFUSED_SCHEMA = inline_serializer(
    "CallRefused", {"error": serializers.CharField(), **CALLABILITY_FIELDS}
)


class AtSerializer(serializers.Serializer):
    at = serializers.CharField(required=False, max_length=AT_MAX_LENGTH)

    def validate_at(self, value: str) -> datetime:
        try:
            moment = parse_datetime(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ValidationError("An ISO-8601 time with an offset: 2026-11-30T20:30:00-05:00.")
        if not AT_YEARS[0] <= moment.astimezone(UTC).year <= AT_YEARS[1]:
            raise ValidationError(f"A year from {AT_YEARS[0]} to {AT_YEARS[1]}.")
        return moment


class CallabilityApi(APIView):
    @extend_schema(
        operation_id="lead_callability",
        parameters=[
            LEAD_ID,
            OpenApiParameter(
                "at",
                {"type": "string", "format": "date-time", "maxLength": AT_MAX_LENGTH},
                description="Decide for this moment instead of now (ISO-8601 with an offset).",
            ),
        ],
        responses={
            200: CALLABILITY_SCHEMA,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
        params = AtSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        if "at" in request.query_params and "at" not in params.validated_data:
            raise ValidationError({"at": ["Give a time, or leave `at` out for now."]})
        at = params.validated_data.get("at") or services.clock()
        return Response(callability_resource(lead_callability(lead=lead, at=at)))


class CallAttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(CallOutcome.values)
    note = serializers.CharField()
    overrideReason = serializers.CharField(
        source="override_reason", help_text="Why the rules were set aside; empty if they were not."
    )
    by = serializers.CharField(source="by.username", allow_null=True, default=None)


class TextField(serializers.CharField):
    """A JSON string only: DRF's CharField would store `0` or `true` as text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CallAttemptListApi(APIView):
    # A nested `override` has no faithful form encoding: JSON only (others answer 415).
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(CallOutcome.values, required=False, allow_blank=True)
        note = TextField(required=False, allow_blank=True, max_length=CALL_NOTE_MAX_LENGTH)
        override = inline_serializer(
            "CallOverride",
            {"reason": TextField(max_length=OVERRIDE_REASON_MAX_LENGTH)},
            required=False,
            help_text="Call although the rules forbid it now; the reason is recorded.",
        )

    @extend_schema(
        operation_id="lead_attempts_list",
        parameters=[LEAD_ID, *PAGE_PARAMETERS],
        responses={
            200: page_schema("CallAttemptPage", CallAttemptSerializer(many=True)),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
        params = PageParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(
            page_of(
                call_attempt_list(tenant=request_tenant(request), lead=lead),
                page=params.validated_data["page"],
                limit=params.validated_data["limit"],
                serialize=lambda page: CallAttemptSerializer(page, many=True).data,
            )
        )

    @extend_schema(
        operation_id="lead_attempts_create",
        parameters=[LEAD_ID],
        request=inline_serializer(
            "CallAttemptCreate",
            {
                "outcome": serializers.ChoiceField(CallOutcome.values, required=False),
                "note": TextField(
                    required=False, allow_blank=True, max_length=CALL_NOTE_MAX_LENGTH
                ),
                "override": inline_serializer(
                    "CallOverride",
                    {"reason": serializers.CharField(max_length=OVERRIDE_REASON_MAX_LENGTH)},
                    required=False,
                ),
            },
        ),
        responses={
            201: inline_serializer(
                "CallAttemptRecorded",
                {
                    "id": serializers.IntegerField(),
                    "at": serializers.DateTimeField(),
                    "outcome": serializers.ChoiceField(CallOutcome.values),
                    "attemptsTotal": serializers.IntegerField(),
                    "attempts24h": serializers.IntegerField(),
                },
            ),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: CALL_REFUSED_SCHEMA,
        },
    )
    def post(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            recorded = call_attempt_record(
                lead=lead,
                by=request_tenant(request),
                at=services.clock(),
                outcome=data.validated_data.get("outcome", ""),
                note=data.validated_data.get("note", ""),
                override_reason=data.validated_data.get("override", {}).get("reason", ""),
            )
        except CallRefused as refused:
            answer = callability_resource(refused.callability)
            return Response(
                {"error": _refusal_message(refused.callability), **answer},
                status=HTTPStatus.CONFLICT,
            )
        attempt: CallAttempt = recorded.attempt
        return Response(
            {
                "id": attempt.pk,
                "at": serializers.DateTimeField().to_representation(attempt.at),
                "outcome": attempt.outcome,
                "attemptsTotal": recorded.attempts_total,
                "attempts24h": recorded.attempts_24h,
            },
            status=HTTPStatus.CREATED,
        )


ATTEMPT_ID = OpenApiParameter("attempt_id", ID_SCHEMA, OpenApiParameter.PATH)


class CallAttemptDetailApi(APIView):
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(CallOutcome.values, required=False, allow_blank=True)
        note = TextField(required=False, allow_blank=True, max_length=CALL_NOTE_MAX_LENGTH)

        def to_internal_value(self, data: Any) -> dict[str, Any]:
            if not isinstance(data, dict):
                raise ValidationError({"non_field_errors": ["Send a JSON object."]})
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise ValidationError(
                    {name: ["Cannot be changed; accepted: outcome, note."] for name in unknown}
                )
            return super().to_internal_value(data)

    @extend_schema(
        operation_id="lead_attempt_note",
        parameters=[LEAD_ID, ATTEMPT_ID],
        request=InputSerializer,
        responses={
            200: CallAttemptSerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            415: ERROR_SCHEMA,
        },
    )
    def patch(self, request: Request, lead_id: int, attempt_id: int) -> Response:
        lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            attempt = call_attempt_note(
                lead=lead,
                attempt_id=attempt_id,
                by=request_tenant(request),
                at=services.clock(),
                outcome=data.validated_data.get("outcome"),
                note=data.validated_data.get("note"),
            )
        except CallAttempt.DoesNotExist:
            raise Http404("No such attempt of this lead.") from None
        return Response(CallAttemptSerializer(attempt).data)


REFUSAL_MESSAGES = {
    "outside_hours": "Outside the lead's calling hours.",
    "daily_cap": "The most calls allowed to this lead in 24 hours have been made.",
    "do_not_call": "This lead is on your do-not-call list.",
    "unknown_time_zone": "The lead's time zone is unknown, so its calling hours are too.",
}


def _refusal_message(answer: Callability) -> str:
    message = REFUSAL_MESSAGES.get(answer.reason, "The rules forbid this call now.")
    if answer.next_allowed_at:
        message += f" Next allowed at {answer.next_allowed_at.isoformat()}."
    return message

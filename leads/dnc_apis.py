"""The do-not-call list's API (CONTRACT §7), but its upload, which reads CSV (imports.apis)."""

from http import HTTPStatus
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.apis import ERROR_SCHEMA, ID_SCHEMA, SEARCH_MAX_LENGTH
from leads.dnc import (
    AUDIT_COLUMNS,
    DoNotCallRefused,
    dnc_audit_list,
    dnc_entry_add,
    dnc_entry_get,
    dnc_entry_list,
    dnc_entry_remove,
)
from leads.exports import spreadsheet_csv
from leads.models import DNC_REASON_MAX_LENGTH, DoNotCallEntry, DoNotCallSource
from leads.pagination import PAGE_PARAMETERS, PageParamsSerializer, page_of, page_schema
from leads.serializers import phone_for_display
from leads.tenancy import request_tenant

# People type more than is stored: "+1 (210) 461-1180"; the normaliser brings it to E.164.
PHONE_INPUT_MAX_LENGTH = 40
ENTRY_ID = OpenApiParameter("entry_id", ID_SCHEMA, OpenApiParameter.PATH)


class DoNotCallEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField(help_text="E.164, e.g. +12104611180")
    phoneDisplay = serializers.SerializerMethodField()
    reason = serializers.CharField()
    # The resource's field is named source (docs/api.md); it shadows Field.source, unused here.
    source = serializers.ChoiceField(DoNotCallSource.values)  # type: ignore[assignment]
    addedBy = serializers.CharField(source="added_by.username", allow_null=True, default=None)
    addedAt = serializers.DateTimeField(source="added_at")
    removedAt = serializers.DateTimeField(source="removed_at", allow_null=True)
    removedBy = serializers.CharField(source="removed_by.username", allow_null=True, default=None)
    removalReason = serializers.CharField(source="removal_reason")

    def get_phoneDisplay(self, entry: DoNotCallEntry) -> str:
        return phone_for_display(entry.phone)


def dnc_entry_resource(entry: DoNotCallEntry) -> dict[str, Any]:
    return DoNotCallEntrySerializer(entry).data


def _refused(error: DoNotCallRefused) -> ValidationError:
    return ValidationError({error.field: [error.message]})


def _json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return data


class DncSearchSerializer(PageParamsSerializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=SEARCH_MAX_LENGTH)


REASON_FIELD = serializers.CharField(
    max_length=DNC_REASON_MAX_LENGTH, help_text="Why the number may not be called (required)."
)


class DncListApi(APIView):
    @extend_schema(
        operation_id="dnc_list",
        parameters=[
            OpenApiParameter(
                "search",
                {"type": "string", "maxLength": SEARCH_MAX_LENGTH},
                description="Digits of the phone number.",
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_schema("DoNotCallPage", DoNotCallEntrySerializer(many=True)),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> Response:
        params = DncSearchSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        search = params.validated_data.get("search", "")
        entries = dnc_entry_list(tenant=request_tenant(request), search=search)
        return Response(
            page_of(
                entries,
                page=params.validated_data["page"],
                limit=params.validated_data["limit"],
                serialize=lambda page: DoNotCallEntrySerializer(page, many=True).data,
            )
        )

    @extend_schema(
        operation_id="dnc_add",
        request={
            "application/json": inline_serializer(
                "DoNotCallAdd",
                {
                    "phone": serializers.CharField(max_length=PHONE_INPUT_MAX_LENGTH),
                    "reason": REASON_FIELD,
                },
            )
        },
        responses={
            201: DoNotCallEntrySerializer,
            200: DoNotCallEntrySerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        data = _json_object(request.data)
        try:
            added = dnc_entry_add(
                tenant=request_tenant(request),
                phone=_bounded(data, "phone", PHONE_INPUT_MAX_LENGTH),
                reason=data.get("reason"),
                added_by=request_tenant(request),
            )
        except DoNotCallRefused as error:
            raise _refused(error) from None
        status = HTTPStatus.CREATED if added.created else HTTPStatus.OK
        return Response(dnc_entry_resource(added.entry), status=status)


def _bounded(data: dict[str, Any], name: str, max_length: int) -> Any:
    value = data.get(name)
    if isinstance(value, str) and len(value) > max_length:
        raise ValidationError({name: [f"At most {max_length} characters."]})
    return value


class DncRemoveApi(APIView):
    @extend_schema(
        operation_id="dnc_remove",
        parameters=[ENTRY_ID],
        request={
            "application/json": inline_serializer("DoNotCallRemove", {"reason": REASON_FIELD})
        },
        responses={200: DoNotCallEntrySerializer, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA},
    )
    def post(self, request: Request, entry_id: int) -> Response:
        entry = dnc_entry_get(tenant=request_tenant(request), entry_id=entry_id)
        data = _json_object(request.data)
        try:
            entry = dnc_entry_remove(
                entry=entry, reason=data.get("reason"), removed_by=request_tenant(request)
            )
        except DoNotCallRefused as error:
            raise _refused(error) from None
        return Response(
            dnc_entry_resource(dnc_entry_get(tenant=request_tenant(request), entry_id=entry.pk))
        )


class DncAuditCsvApi(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The CSV is not rendered by DRF (as the lead export): no 406 for text/csv.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="dnc_audit",
        responses={
            (200, "text/csv"): {
                "type": "string",
                "description": "UTF-8 CSV with a BOM: " + ", ".join(AUDIT_COLUMNS) + ".",
            },
            401: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        rows = dnc_audit_list(tenant=request_tenant(request))

        async def cells() -> Any:
            # A union has no async iterator; two rows per entry at most fit in memory.
            audit: list[tuple[Any, ...]] = await sync_to_async(lambda: list(rows))()
            for phone, action, reason, source, by, at in audit:
                yield [phone_for_display(phone), action, reason, source, by, at.isoformat()]

        response = StreamingHttpResponse(
            spreadsheet_csv(AUDIT_COLUMNS, cells()), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="do-not-call-audit.csv"'
        return response

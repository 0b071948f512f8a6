from datetime import datetime
from http import HTTPStatus
from typing import Any

from django.db import transaction
from django.http import QueryDict, StreamingHttpResponse
from django.utils.dateparse import parse_datetime
from django.utils.http import content_disposition_header
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import exports, services
from leads.bounds import MAX_ID, MAX_NOTES_LENGTH
from leads.followups import FollowUpRefused, lead_follow_up_set
from leads.models import LeadSource
from leads.normalize import (
    STATE_CODES,
    InvalidValue,
    normalize_email,
    normalize_phone,
    normalize_state,
    normalize_zip,
)
from leads.pagination import (
    PAGE_PARAMETERS,
    PageParamsSerializer,
    QueryParamsSerializer,
    page_of,
    page_schema,
)
from leads.selectors import (
    NO_DISPOSITION,
    SORT_FIELDS,
    LeadFilters,
    disposition_list,
    lead_get,
    lead_list,
    lead_list_reads_every_match,
)
from leads.serializers import CamelCaseModelSerializer, LeadSerializer
from leads.services import lead_update
from leads.tenancy import request_tenant


class CommaListField(serializers.ListField):
    """A list given as commas, repeats, or both: ?states=TX,CA&states=NY."""

    def get_value(self, dictionary: Any) -> Any:
        name = self.field_name or ""  # set once the field is bound to its serializer
        if isinstance(dictionary, QueryDict) and name in dictionary:
            given = dictionary.getlist(name)
            items = [item.strip() for raw in given for item in raw.split(",")]
            if self.max_length is not None and len(items) > self.max_length:
                return items  # empty items count too: the length check refuses the list
            return [item for item in items if item]
        return super().get_value(dictionary)


SEARCH_MAX_LENGTH = 200
LIST_MAX_ITEMS = 100


class LeadFilterSerializer(QueryParamsSerializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=SEARCH_MAX_LENGTH)
    states = CommaListField(
        child=serializers.CharField(max_length=40), required=False, max_length=LIST_MAX_ITEMS
    )
    dispositions = CommaListField(
        child=serializers.CharField(max_length=50), required=False, max_length=LIST_MAX_ITEMS
    )
    sources = CommaListField(
        child=serializers.CharField(max_length=20), required=False, max_length=LIST_MAX_ITEMS
    )
    sortBy = serializers.ChoiceField(list(SORT_FIELDS), required=False, default="createdAt")
    sortDirection = serializers.ChoiceField(["asc", "desc"], required=False, default="desc")
    # A choice, not a BooleanField: DRF reads a boolean missing from a query string as false.
    doNotCall = serializers.ChoiceField(["true", "false"], required=False)
    attempts = serializers.ChoiceField(["0"], required=False)
    followUp = serializers.ChoiceField(["due"], required=False)

    def validate_states(self, states: list[str]) -> list[str]:
        try:
            return [normalize_state(state) for state in states]
        except InvalidValue as error:
            raise ValidationError(str(error)) from None

    def validate_sources(self, sources: list[str]) -> list[str]:
        source_by_key = {source.casefold(): source for source in LeadSource.values}
        unknown = [source for source in sources if source.casefold() not in source_by_key]
        if unknown:
            accepted = ", ".join(LeadSource.values)
            raise ValidationError(f"Unknown source {unknown[0]!r}; accepted: {accepted}.")
        return [source_by_key[source.casefold()] for source in sources]

    def filters(self) -> LeadFilters:
        data = self.validated_data
        return LeadFilters(
            search=data.get("search", ""),
            states=data.get("states", ()),
            dispositions=data.get("dispositions", ()),
            sources=data.get("sources", ()),
            sort_by=data["sortBy"],
            sort_direction=data["sortDirection"],
            do_not_call={"true": True, "false": False}.get(data.get("doNotCall", "")),
            never_attempted=data.get("attempts") == "0",
            follow_up_due_at=services.clock() if data.get("followUp") == "due" else None,
        )


class LeadPageSerializer(LeadFilterSerializer, PageParamsSerializer):
    pass


def _filters_from(request: Request, serializer_class: type[LeadFilterSerializer]) -> Any:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


def _list_of(items: dict[str, Any]) -> dict[str, Any]:
    # An empty item (`states=` from a form's blank field) is ignored, so the schema allows it.
    if "enum" in items:
        items = {**items, "enum": [*items["enum"], ""]}
    return {"type": "array", "items": items, "maxItems": LIST_MAX_ITEMS}


FILTER_PARAMETERS = [
    OpenApiParameter(
        "search",
        {"type": "string", "maxLength": SEARCH_MAX_LENGTH},
        description="Matches name, email or phone.",
    ),
    OpenApiParameter(
        "states",
        _list_of({"type": "string", "enum": list(STATE_CODES)}),
        description="Two-letter states (full names are read too); commas or repeats.",
    ),
    OpenApiParameter(
        "dispositions",
        _list_of({"type": "string", "maxLength": 50}),
        description=f"'{NO_DISPOSITION}' matches an empty one; commas or repeats.",
    ),
    OpenApiParameter(
        "sources",
        _list_of({"type": "string", "enum": LeadSource.values}),
        description="Commas or repeats.",
    ),
    OpenApiParameter("sortBy", {"type": "string", "enum": list(SORT_FIELDS)}, default="createdAt"),
    OpenApiParameter("sortDirection", {"type": "string", "enum": ["asc", "desc"]}, default="desc"),
    OpenApiParameter(
        "doNotCall",
        {"type": "string", "enum": ["true", "false"]},
        description="Only leads on (true) or off (false) the agent's do-not-call list.",
    ),
    OpenApiParameter(
        "attempts",
        {"type": "string", "enum": ["0"]},
        description="0: only leads never called (no attempt recorded).",
    ),
    OpenApiParameter(
        "followUp",
        {"type": "string", "enum": ["due"]},
        description="due: only leads whose follow-up time has come (overdue included).",
    ),
]
ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
LEAD_ID = OpenApiParameter("lead_id", ID_SCHEMA, OpenApiParameter.PATH)
ERROR_SCHEMA = inline_serializer(
    "Error", {"error": serializers.CharField(), "fields": serializers.DictField(required=False)}
)
FOLLOW_UP_REFUSED_SCHEMA = inline_serializer(
    "FollowUpRefused",
    {
        "error": serializers.CharField(),
        "fields": serializers.DictField(required=False),
        "reason": serializers.CharField(
            required=False, help_text="The callability reason at that time, when it is the cause."
        ),
        "nextLegalAt": serializers.DateTimeField(
            required=False,
            allow_null=True,
            help_text="With a time the rules forbid: the next moment a follow-up may be set for "
            "(the lead's local time); null when none is (do-not-call, unknown time zone).",
        ),
    },
)
# A calendar people call in; also keeps later steps clear of datetime's year limits.
TIME_YEARS = (1971, 2200)


class OffsetDateTimeField(serializers.DateTimeField):
    """An ISO-8601 time with its offset, as a JSON string: no server time zone is guessed."""

    def to_internal_value(self, value: Any) -> datetime:
        moment = None
        if isinstance(value, str) and len(value) <= 64:
            try:
                moment = parse_datetime(value)
            except ValueError:
                moment = None
        if moment is None or moment.tzinfo is None:
            raise ValidationError("An ISO-8601 time with an offset: 2026-11-30T20:30:00-05:00.")
        if not TIME_YEARS[0] <= moment.year <= TIME_YEARS[1]:
            raise ValidationError(f"A year from {TIME_YEARS[0]} to {TIME_YEARS[1]}.")
        return moment


class LeadListApi(APIView):
    @extend_schema(
        operation_id="leads_list",
        parameters=[*FILTER_PARAMETERS, *PAGE_PARAMETERS],
        responses={
            200: page_schema("LeadPage", LeadSerializer(many=True)),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> Response:
        params = _filters_from(request, LeadPageSerializer)
        filters = params.filters()
        leads = lead_list(tenant=request_tenant(request), filters=filters)
        return Response(
            page_of(
                leads,
                page=params.validated_data["page"],
                limit=params.validated_data["limit"],
                serialize=lambda page: LeadSerializer(page, many=True).data,
                count_with_page=lead_list_reads_every_match(filters),
            )
        )


class LeadDetailApi(APIView):
    @extend_schema_serializer(component_name="LeadChange")
    class InputSerializer(CamelCaseModelSerializer):
        next_follow_up_at = OffsetDateTimeField(
            required=False,
            allow_null=True,
            help_text="When to call back (ISO-8601 with an offset), or null for none. Refused "
            "(400 with nextLegalAt) outside the lead's calling window.",
        )

        class Meta:
            model = LeadSerializer.Meta.model
            fields = [
                "status",
                "disposition",
                "notes",
                "first_name",
                "last_name",
                "email",
                "phone",
                "street1",
                "street2",
                "city",
                "state",
                "zipcode",
                "dob",
                "next_follow_up_at",
            ]
            # People type more than is stored: "+1 (210) 461-1180 ext. 5", "New Hampshire".
            # The normalisers below bring the value back within the column.
            extra_kwargs = {
                "phone": {"max_length": 40},
                "state": {"max_length": 40},
                "notes": {"max_length": MAX_NOTES_LENGTH},
            }

        def to_internal_value(self, data: Any) -> dict[str, Any]:
            if not isinstance(data, dict):
                raise ValidationError({"non_field_errors": ["Send a JSON object."]})
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                accepted = ", ".join(self.fields)
                raise ValidationError(
                    {name: [f"Cannot be changed; accepted: {accepted}."] for name in unknown}
                )
            return super().to_internal_value(data)

        def _normalised(self, normalise: Any, value: Any) -> Any:
            try:
                return normalise(value)
            except InvalidValue as error:
                raise ValidationError(str(error)) from None

        def validate_phone(self, value: str) -> str:
            return self._normalised(normalize_phone, value)

        def validate_email(self, value: str) -> str:
            return self._normalised(normalize_email, value)

        def validate_state(self, value: str) -> str:
            return self._normalised(normalize_state, value)

        def validate_zipcode(self, value: str) -> str:
            return self._normalised(normalize_zip, value)

        def validate_disposition(self, value: str) -> str:
            assert self.instance is not None  # this serializer only updates a stored lead
            known = disposition_list(tenant=self.instance.tenant)
            if value and not known.filter(name=value).exists():
                raise ValidationError(f"Unknown disposition {value!r}.")
            return value

    @extend_schema(
        parameters=[LEAD_ID],
        responses={200: LeadSerializer, 401: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request, lead_id: int) -> Response:
        return Response(
            LeadSerializer(lead_get(tenant=request_tenant(request), lead_id=lead_id)).data
        )

    @extend_schema(
        parameters=[LEAD_ID],
        request=InputSerializer,
        responses={
            200: LeadSerializer,
            400: FOLLOW_UP_REFUSED_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def patch(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
        serializer = self.InputSerializer(lead, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        follow_up_given = "next_follow_up_at" in changes
        follow_up = changes.pop("next_follow_up_at", None)
        try:
            # One transaction: a refused follow-up leaves the other fields unchanged too.
            with transaction.atomic():
                lead = lead_update(lead=lead, changes=changes, by=request_tenant(request))
                if follow_up_given:
                    lead = lead_follow_up_set(
                        lead=lead, at=follow_up, by=request_tenant(request), now=services.clock()
                    )
        except FollowUpRefused as refused:
            body: dict[str, Any] = {
                "error": f"nextFollowUpAt: {refused.message}",
                "fields": {"nextFollowUpAt": [refused.message]},
            }
            if refused.callability is not None:
                body["reason"] = refused.callability.reason
                next_at = refused.next_legal_at
                body["nextLegalAt"] = next_at.isoformat() if next_at else None
            return Response(body, status=HTTPStatus.BAD_REQUEST)
        return Response(LeadSerializer(lead).data)


class LeadExportApi(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The CSV is not rendered by DRF, so a client asking for text/csv must not get a 406;
        # errors are answered in JSON whatever it accepts.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={
            (200, "text/csv"): {"type": "string", "description": "UTF-8 CSV with a BOM."},
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        params = _filters_from(request, LeadFilterSerializer)
        leads = lead_list(tenant=request_tenant(request), filters=params.filters())
        response = StreamingHttpResponse(
            exports.csv_chunks(leads), content_type="text/csv; charset=utf-8"
        )
        # RFC 6266: a quoted ASCII name, or filename*=utf-8'' when a disposition has accents.
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=exports.export_filename(leads)
        )
        return response

"""The call loop's API, continued (CONTRACT §9): the follow-up list and a lead's timeline."""

import math

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import services
from leads.apis import ERROR_SCHEMA, LEAD_ID
from leads.followups import follow_up_list
from leads.models import LeadEvent, LeadEventKind
from leads.pagination import PAGE_PARAMETERS, PageParamsSerializer, page_of, page_schema
from leads.selectors import lead_get
from leads.serializers import LeadSerializer
from leads.tenancy import request_tenant
from leads.timeline import lead_timeline_page


class FollowUpListApi(APIView):
    class ParamsSerializer(PageParamsSerializer):
        due = serializers.ChoiceField(["now"], required=False)

    @extend_schema(
        operation_id="followups_list",
        parameters=[
            OpenApiParameter(
                "due",
                {"type": "string", "enum": ["now"]},
                description="now: only follow-ups whose time has come, most overdue first.",
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: page_schema("FollowUpPage", LeadSerializer(many=True)),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> Response:
        params = self.ParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        due_at = services.clock() if params.validated_data.get("due") == "now" else None
        return Response(
            page_of(
                follow_up_list(tenant=request_tenant(request), due_at=due_at),
                page=params.validated_data["page"],
                limit=params.validated_data["limit"],
                serialize=lambda page: LeadSerializer(page, many=True).data,
            )
        )


class LeadEventSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(LeadEventKind.values)
    by = serializers.CharField(source="by.username", allow_null=True, default=None)
    # The resource's field is named data (docs/api.md); it shadows Serializer.data, which an
    # output-only serializer's fields never read.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="Per kind: door/vendor/importId (arrived); fields (vendor_update); "
        "{field: {old, new}} (changed); attemptId, outcome, override (attempt); old/new "
        "(follow_up_*); phone, reason (do_not_call_*)."
    )

    id = serializers.IntegerField(allow_null=True, help_text="Null for the arrival.")

    class Meta:
        model = LeadEvent
        fields = ["id", "kind", "at", "by", "data"]


class LeadTimelineApi(APIView):
    @extend_schema(
        operation_id="lead_timeline",
        parameters=[LEAD_ID, *PAGE_PARAMETERS],
        responses={
            200: page_schema("LeadTimelinePage", LeadEventSerializer(many=True)),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, lead_id: int) -> Response:
        lead = lead_get(tenant=request_tenant(request), lead_id=lead_id)
        params = PageParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page, limit = params.validated_data["page"], params.validated_data["limit"]
        events, total = lead_timeline_page(
            tenant=request_tenant(request), lead=lead, start=(page - 1) * limit, limit=limit
        )
        return Response(
            {
                "results": LeadEventSerializer(events, many=True).data,
                "pagination": {
                    "total": total,
                    "page": page,
                    "pages": max(1, math.ceil(total / limit)),
                    "limit": limit,
                },
            }
        )

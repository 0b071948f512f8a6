"""Query parameters and the page every list answers with: {"results", "pagination"}."""

import math
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

PAGE_PARAMETERS = [
    OpenApiParameter("page", int, default=1),
    OpenApiParameter("limit", int, default=50, description="10 to 100."),
]


class QueryParamsSerializer(serializers.Serializer):
    """Query parameters where a name the endpoint does not know is a 400 naming it."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            accepted = ", ".join(self.fields)
            raise ValidationError(
                {name: [f"Unknown parameter; accepted: {accepted}."] for name in unknown}
            )
        return super().to_internal_value(data)


class PageParamsSerializer(QueryParamsSerializer):
    page = serializers.IntegerField(required=False, default=1, min_value=1)
    limit = serializers.IntegerField(required=False, default=50, min_value=10, max_value=100)


def page_of(
    items: QuerySet, *, page: int, limit: int, serialize: Callable[[QuerySet], list]
) -> dict[str, Any]:
    total = items.count()
    start = (page - 1) * limit
    return {
        "results": serialize(items[start : start + limit]),
        "pagination": {
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / limit)),
            "limit": limit,
        },
    }


PAGINATION_SCHEMA = inline_serializer(
    "Pagination",
    {
        "total": serializers.IntegerField(),
        "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
    },
)


def page_schema(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(name, {"results": item, "pagination": PAGINATION_SCHEMA})

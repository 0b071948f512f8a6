"""Query parameters and the page every list answers with: {"results", "pagination"}."""

import math
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from leads.bounds import MAX_PAGE

MIN_LIMIT, DEFAULT_LIMIT, MAX_LIMIT = 10, 50, 100
PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        default=1,
        description="From 1. Past the last page the results are empty.",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": MIN_LIMIT, "maximum": MAX_LIMIT},
        default=DEFAULT_LIMIT,
    ),
]


class QueryParamsSerializer(serializers.Serializer):
    """Query parameters where a name the endpoint does not know, a single-valued parameter given
    twice, or an empty value for one that cannot be empty, is a 400 naming it."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            accepted = ", ".join(self.fields)
            raise ValidationError(
                {name: [f"Unknown parameter; accepted: {accepted}."] for name in unknown}
            )
        if isinstance(data, QueryDict):
            problems = {
                name: [problem]
                for name, field in self.fields.items()
                if name in data and (problem := _single_value_problem(field, data.getlist(name)))
            }
            if problems:
                raise ValidationError(problems)
        return super().to_internal_value(data)


def _single_value_problem(field: serializers.Field, values: list[str]) -> str | None:
    if isinstance(field, serializers.ListField):
        return None
    if len(values) > 1:
        return "Give this parameter once."
    if values[0] == "" and not getattr(field, "allow_blank", False):
        return "Must not be empty."
    return None


class PageParamsSerializer(QueryParamsSerializer):
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=MAX_PAGE)
    limit = serializers.IntegerField(
        required=False, default=DEFAULT_LIMIT, min_value=MIN_LIMIT, max_value=MAX_LIMIT
    )


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

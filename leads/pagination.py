"""Query parameters and the page every list answers with: {"results", "pagination"}."""

import json
import math
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Count, QuerySet, Window
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from leads.bounds import MAX_PAGE

MIN_LIMIT, DEFAULT_LIMIT, MAX_LIMIT = 10, 50, 100
# Up to this many matches a list counts them; past it, on PostgreSQL, the planner's estimate
# stands in and the page says so ("totalIsEstimate": true), so no page reads a whole tenant.
EXACT_COUNT_LIMIT = 10_000
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


def _planner_estimate(items: QuerySet) -> int:
    plan = json.loads(items.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def total_of(items: QuerySet) -> tuple[int, bool]:
    """Return how many `items` there are and whether that number is an estimate.

    Exact up to EXACT_COUNT_LIMIT (reading at most that many index entries); above it the
    planner's estimate on PostgreSQL, never below the limit. SQLite, the small embedded
    default, always counts.
    """
    if connections[items.db].vendor != "postgresql":
        return items.count(), False
    counted = items.order_by()[: EXACT_COUNT_LIMIT + 1].count()
    if counted <= EXACT_COUNT_LIMIT:
        return counted, False
    return max(_planner_estimate(items), counted), True


def page_slice(items: QuerySet, *, start: int, limit: int) -> QuerySet:
    """Return `items[start : start + limit]`, finding the page's ids first.

    The id query is answered from the sort's index alone (the list filters are included in the
    default sort's index), so neither the rows a deep page skips nor those a filter rejects are
    fetched from the table; the page's own rows are then read by primary key, in order.
    """
    ids = list(items.values_list("pk", flat=True)[start : start + limit])
    return items.filter(pk__in=ids)


def counted_page_slice(items: QuerySet, *, start: int, limit: int) -> tuple[QuerySet, int | None]:
    """Return `items[start : start + limit]` and how many `items` there are, in one query.

    For a query that reads every match anyway (to sort them, as a search on the trigram index
    does): the count rides on that read instead of reading the matches again. The total is
    None when the page is empty (nothing to carry it).
    """
    rows = list(
        items.annotate(total_matching=Window(Count("*"))).values_list("pk", "total_matching")[
            start : start + limit
        ]
    )
    return items.filter(pk__in=[pk for pk, _ in rows]), (rows[0][1] if rows else None)


def page_of(
    items: QuerySet,
    *,
    page: int,
    limit: int,
    serialize: Callable[[QuerySet], Any],
    count_with_page: bool = False,
) -> dict[str, Any]:
    """Return the page of `items` and its pagination; `count_with_page` for a query that reads
    every match anyway (counted_page_slice)."""
    start = (page - 1) * limit
    counted = None
    if count_with_page:
        page_items, counted = counted_page_slice(items, start=start, limit=limit)
    else:
        page_items = page_slice(items, start=start, limit=limit)
    results = serialize(page_items)
    total, is_estimate = (counted, False) if counted is not None else total_of(items)
    if is_estimate and (len(results) < limit and (results or page == 1)):
        # The last page: where it ends is the exact total.
        total, is_estimate = start + len(results), False
    elif is_estimate:
        total = max(total, start + len(results) + 1)
    pagination = {
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / limit)),
        "limit": limit,
    }
    if is_estimate:
        pagination["totalIsEstimate"] = True
    return {"results": results, "pagination": pagination}


PAGINATION_SCHEMA = inline_serializer(
    "Pagination",
    {
        "total": serializers.IntegerField(),
        "page": serializers.IntegerField(),
        "pages": serializers.IntegerField(),
        "limit": serializers.IntegerField(),
        "totalIsEstimate": serializers.BooleanField(
            required=False,
            help_text=f"Present, true, when more than {EXACT_COUNT_LIMIT:,} items match: "
            "`total` and `pages` are then the database's estimate.",
        ),
    },
)


def page_schema(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(name, {"results": item, "pagination": PAGINATION_SCHEMA})

"""Small pieces of SQL the bulk writers share."""

from collections.abc import Iterable

# `column = ANY(<this>)` with many texts as its one parameter. A list parameter is quoted
# element by element in Python (Django's psycopg cursor binds on the client): one array literal,
# built by two C-level replaces per text, is quoted once. PostgreSQL still sees a constant array
# and probes the column's index with it.
TEXTS = "%s::text[]"


def texts_parameter(values: Iterable[str]) -> str:
    """The array literal TEXTS takes for `values` (each double-quoted, `\\` and `"` escaped)."""
    return "{" + ",".join(map(_array_element, values)) + "}"


def _array_element(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

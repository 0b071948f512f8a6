"""Small pieces of SQL the bulk writers share."""

import json
from collections.abc import Iterable

# `column = ANY(<this>)` with a JSON array of texts as its one parameter. A list parameter
# would be quoted element by element in Python (Django's psycopg cursor binds on the client)
# and parsed as a long literal by PostgreSQL; one JSON text costs a C-speed encode, and the
# planner still probes the column's index with the array (an InitPlan parameter).
TEXTS = "ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))"


def texts_parameter(values: Iterable[str]) -> str:
    """The parameter of TEXTS for `values`."""
    return json.dumps(list(values))

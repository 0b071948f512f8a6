"""The converter answers, record by record, what the reference converter answered (fields,
warnings, error) on the samples and on generated messy files: tests/imports/converter_golden.py."""

import gzip
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.imports import converter_golden as golden

with gzip.open(golden.GOLDEN, "rt", encoding="utf-8") as expected_answers:
    GOLDEN = json.load(expected_answers)
INPUTS = {name: (header, rows, orders) for name, header, rows, orders in golden.golden_inputs()}


def comparable(value: Any) -> Any:
    """A converted value as JSON-encoded golden values compare: a moment by its instant, an
    amount by its value."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, text),) = value.items()
        if kind == "datetime":
            return ("datetime", datetime.fromisoformat(text).timestamp())
        if kind == "Decimal":
            return ("Decimal", Decimal(text))
        if kind == "dict":
            return ("dict", text)
        return (kind, text)
    return value


def answers(name: str, batch_size: int) -> list[dict[str, Any]]:
    header, records, orders = INPUTS[name]
    return golden.converted(header, records, orders, batch_size=batch_size)


@pytest.mark.parametrize("name", sorted(GOLDEN))
@pytest.mark.parametrize("batch_size", [500, 61])
def test_each_record_converts_as_the_reference_converter_did(name, batch_size):
    expected = GOLDEN[name]
    found = answers(name, batch_size)
    assert len(found) == len(expected)
    for line, (want, got) in enumerate(zip(expected, found, strict=True)):
        want_fields = {k: comparable(v) for k, v in want["fields"].items()}
        got_fields = {k: comparable(v) for k, v in json.loads(json.dumps(got["fields"])).items()}
        assert (got_fields, got["warnings"], got["error"]) == (
            want_fields,
            want["warnings"],
            want["error"],
        ), (name, line, INPUTS[name][1][line])

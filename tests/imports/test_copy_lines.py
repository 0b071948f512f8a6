"""The plain new leads of a converted batch go from its frame straight to COPY lines: the lines
Polars writes say what the lines written value by value from the same leads say."""

import json
from datetime import datetime
from decimal import Decimal

import pytest

from imports.parsing import RowConverter, detect_layout
from leads.bulk import LeadColumns, LeadOwner, _as_new_leads, _postgres_writer
from leads.models import Lead
from tests.imports import converter_golden as golden

INPUTS = list(golden.golden_inputs())
FIELDS = {field.attname: field for field in Lead._meta.concrete_fields}


def cell_value(attname: str, text: str):
    """A COPY cell as the value PostgreSQL stores for it."""
    if text == "\\N":
        return None
    kind = FIELDS[attname].get_internal_type()
    if kind == "DecimalField":
        return Decimal(text)
    if kind == "DateTimeField":
        return datetime.fromisoformat(text)
    if kind == "JSONField":
        return json.loads(text.replace("\\\\", "\\"))
    return text


@pytest.mark.parametrize("name", [name for name, *_ in INPUTS])
@pytest.mark.parametrize("assigned_to_id", [7, None])
def test_frame_lines_say_what_value_by_value_lines_say(name, assigned_to_id):
    _, header, records, orders = next(item for item in INPUTS if item[0] == name)
    converter = RowConverter(detect_layout(header), today=golden.TODAY, date_orders=orders)
    writer = _postgres_writer()
    owner = LeadOwner(tenant_id=3, assigned_to_id=assigned_to_id, source="csv_import")
    names = writer.attnames[:-2]
    compared = 0
    for start in range(0, len(records), 700):
        leads = converter.convert_batch(records[start : start + 700]).usable_leads()
        from_frame = writer.copy_frame_lines(leads.frame, owner)
        materialised = LeadColumns(dict(leads.columns), leads.count)
        by_value = writer.copy_lines(_as_new_leads(materialised, owner))
        assert len(from_frame) == len(by_value) == leads.count
        for ours, theirs in zip(from_frame, by_value, strict=True):
            if ours == theirs:
                compared += 1
                continue
            cells, expected = ours.split("\t"), theirs.split("\t")
            assert len(cells) == len(expected) == len(names)
            for attname, cell, want in zip(names, cells, expected, strict=True):
                assert cell_value(attname, cell) == cell_value(attname, want), (attname, cell, want)
            compared += 1
    assert compared > 0

"""lead_bulk_upsert's writer: what reaches it unbounded is refused row by row, never the whole
batch (moved from tests/imports/test_hostile_files.py; docs/imports-hostile-files.md).

On PostgreSQL: COPY, NUL bytes and column limits only bite there.
"""

from decimal import Decimal

import pytest

from leads.bulk import FAILED, IMPORTED, UPDATED, LeadColumns, lead_bulk_upsert
from leads.models import Lead, LeadSource
from tests.factories import make_lead

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ANN, BO, CY = "+12104611180", "+12104611181", "+12104611182"


def test_rows_the_database_refuses_fail_alone_and_the_rest_are_written(agent):
    rows = [
        {"phone": ANN, "city": "Austin"},
        {"phone": BO, "city": "c" * 300},
        {"phone": CY, "price": Decimal("1000000000")},
        {"phone": "+12104611183", "email": "d@example.com"},
        {"phone": ANN, "first_name": "Ann"},
        {"phone": "+12104611184", "dob": "0000-01-01"},
    ]

    result = lead_bulk_upsert(tenant_id=agent.pk, rows=rows, source=LeadSource.CSV_IMPORT)

    assert result.outcomes == [IMPORTED, FAILED, FAILED, IMPORTED, UPDATED, FAILED]
    assert set(result.refused) == {1, 2, 5}
    assert "value too long for type character varying(100)" in result.refused[1]
    assert "numeric field overflow" in result.refused[2]
    assert result.refused[5].startswith("The database refused this row: ")
    stored = {lead.phone: lead for lead in Lead.objects.filter(tenant=agent)}
    assert set(stored) == {ANN, "+12104611183"}
    assert (stored[ANN].city, stored[ANN].first_name) == ("Austin", "Ann")


def test_a_refused_row_merging_into_a_stored_lead_fails_alone(agent):
    make_lead(agent, phone=ANN, email="", city="Austin")
    rows = LeadColumns.from_rows(
        [{"phone": ANN, "utm_source": "u" * 101}, {"phone": BO, "city": "Dallas"}]
    )

    result = lead_bulk_upsert(tenant_id=agent.pk, rows=rows, source=LeadSource.CSV_IMPORT)

    assert result.outcomes == [FAILED, IMPORTED]
    assert Lead.objects.get(tenant=agent, phone=ANN).utm_source == ""
    assert Lead.objects.get(tenant=agent, phone=BO).city == "Dallas"


@pytest.mark.parametrize("stored_first", [False, True], ids=["new lead", "merged into a lead"])
def test_the_writer_drops_nul_from_texts_and_json(agent, stored_first):
    if stored_first:
        make_lead(agent, phone=ANN, email="", first_name="", vendor_data={})
    rows = [{"phone": ANN, "first_name": "A\x00nn", "vendor_data": {"k\x00": "v\x00"}}]

    result = lead_bulk_upsert(tenant_id=agent.pk, rows=rows, source=LeadSource.CSV_IMPORT)

    assert result.outcomes == [UPDATED if stored_first else IMPORTED]
    lead = Lead.objects.get(tenant=agent, phone=ANN)
    assert (lead.first_name, lead.vendor_data) == ("Ann", {"k": "v"})

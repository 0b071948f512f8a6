"""The batch upsert merges exactly like the webhook's lead_upsert: one rule for every door."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from leads import bulk
from leads.bulk import IMPORTED, SKIPPED, UPDATED, lead_bulk_upsert
from leads.models import Lead, LeadSource, LeadStatus
from leads.services import lead_upsert
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

ANN = {
    "nextgen_id": "NG1",
    "phone": "+12104611180",
    "email": "ann@example.com",
    "first_name": "Ann",
}


def upsert(tenant: Any, *rows: dict) -> list[str]:
    return lead_bulk_upsert(
        tenant_id=tenant.pk, rows=list(rows), source=LeadSource.NEXTGEN, assigned_to_id=tenant.pk
    ).outcomes


def only_lead(tenant: Any) -> Lead:
    (lead,) = Lead.objects.filter(tenant=tenant)
    return lead


def test_new_rows_become_leads_stamped_with_the_tenant_source_and_time_zone(agent):
    assert upsert(agent, {**ANN, "state": "TX"}) == [IMPORTED]

    lead = only_lead(agent)
    assert (lead.tenant_id, lead.assigned_to_id) == (agent.pk, agent.pk)
    assert (lead.source, lead.status, lead.time_zone) == ("NextGen", "New", "America/Chicago")


@pytest.mark.parametrize(
    "duplicate",
    [
        {"nextgen_id": "NG1", "email": "other@example.com", "city": "Austin"},
        {"phone": "+12104611180", "city": "Austin"},
        {"email": "ann@example.com", "city": "Austin"},
    ],
)
def test_duplicates_in_the_file_merge_by_id_phone_or_email(agent, duplicate):
    assert upsert(agent, ANN, duplicate) == [IMPORTED, UPDATED]

    assert only_lead(agent).city == "Austin"


def test_an_exact_duplicate_changes_nothing_and_is_skipped(agent):
    assert upsert(agent, ANN, dict(ANN)) == [IMPORTED, SKIPPED]
    assert upsert(agent, dict(ANN)) == [SKIPPED]


def test_duplicates_chain_through_different_keys(agent):
    outcomes = upsert(
        agent,
        {"nextgen_id": "NG1", "phone": "+12104611180"},
        {"phone": "+12104611180", "email": "ann@example.com"},
        {"email": "ann@example.com", "city": "Austin"},
    )

    assert outcomes == [IMPORTED, UPDATED, UPDATED]
    lead = only_lead(agent)
    assert (lead.nextgen_id, lead.email, lead.city) == ("NG1", "ann@example.com", "Austin")


def test_vendor_id_is_matched_before_phone_and_email(agent):
    by_id = make_lead(agent, nextgen_id="NG1", phone="+12104611199", email="x@example.com")
    make_lead(agent, nextgen_id="", phone="+12104611180", email="")

    assert upsert(agent, {"nextgen_id": "NG1", "phone": "+12104611180", "city": "Austin"}) == [
        UPDATED
    ]

    by_id.refresh_from_db()
    # The phone belongs to the other lead, so it stays there, like leads.services does.
    assert (by_id.city, by_id.phone) == ("Austin", "+12104611199")


def test_an_update_fills_values_but_never_resets_what_the_agent_set(agent):
    lead = make_lead(
        agent,
        phone="+12104611180",
        email="",
        city="",
        status=LeadStatus.WON,
        disposition="Sold",
        notes="call after 5",
    )

    upsert(agent, {"phone": "+12104611180", "email": "ann@example.com", "city": "Austin",
                   "status": "Contacted", "disposition": "", "notes": "from vendor"})  # fmt: skip

    lead.refresh_from_db()
    assert (lead.email, lead.city) == ("ann@example.com", "Austin")
    assert (lead.status, lead.disposition, lead.notes) == ("Won", "Sold", "call after 5")


def test_a_premium_listing_for_a_stored_lead_adds_its_price_and_a_note(agent):
    make_lead(agent, nextgen_id="NG1", phone="+12104611180", price=Decimal("45"), product="data")

    ad = {"nextgen_id": "NG1", "phone": "+12104611180", "product": "ad", "price": Decimal("5")}

    assert upsert(agent, ad) == [UPDATED]

    lead = only_lead(agent)
    assert (lead.price, lead.premium_price) == (Decimal("50.00"), Decimal("5.00"))
    assert lead.notes == "Premium listing applied: base $45.00 + premium $5.00 = $50.00"


def test_a_premium_listing_earlier_in_the_file_is_applied_once(agent):
    data = {**ANN, "product": "data", "price": Decimal("45.00")}
    ad = {"nextgen_id": "NG1", "phone": "+12104611180", "product": "ad", "price": Decimal("5")}

    assert upsert(agent, data, ad, dict(ad)) == [IMPORTED, UPDATED, SKIPPED]

    lead = only_lead(agent)
    assert (lead.price, lead.product) == (Decimal("50.00"), "data")


def test_data_after_its_ad_takes_over_and_sums_the_prices(agent):
    ad = {**ANN, "product": "ad", "price": Decimal("5.00")}
    data = {**ANN, "first_name": "Annie", "product": "data", "price": Decimal("45.00")}

    assert upsert(agent, ad, data) == [IMPORTED, UPDATED]

    lead = only_lead(agent)
    assert (lead.first_name, lead.product, lead.price) == ("Annie", "data", Decimal("50.00"))
    assert lead.notes == "Premium listing applied: base $45.00 + premium $5.00 = $50.00"


def test_batch_and_webhook_leave_the_same_leads(agent, other_agent):
    rows = [
        {**ANN, "product": "ad", "price": Decimal("5.00"), "state": "FL"},
        {"phone": "+12104611180", "city": "Miami", "status": "Contacted"},
        {**ANN, "product": "data", "price": Decimal("45.00"), "notes": "vendor note"},
        {"email": "bo@example.com", "phone": "+18502000001", "state": "FL"},
        {"email": "bo@example.com", "phone": "+12104611180", "vendor_data": {"a": "1"}},
        {"nextgen_id": "NG1", "email": "ann@example.com", "vendor_data": {"b": "2"}},
        {"email": "ann@example.com", "disposition": "Callback", "state": "TX"},
    ]
    for row in rows:
        lead_upsert(tenant_id=other_agent.pk, incoming={**row, "source": LeadSource.NEXTGEN})

    upsert(agent, *rows)

    assert contents(agent) == contents(other_agent)


def contents(tenant: Any) -> list[dict]:
    """The tenant's leads, in the order stored, without what differs between two tenants."""
    skip = {"id", "tenant_id", "assigned_to_id", "created_at", "updated_at"}
    leads = Lead.objects.filter(tenant=tenant).order_by("pk").values()
    return [{k: v for k, v in lead.items() if k not in skip} for lead in leads]


AWKWARD = {
    "nextgen_id": "NG-\\N",
    "phone": "+12104611199",
    "first_name": "Tab\there",
    "last_name": "Back\\slash \\N",
    "notes": "line one\nline two\r\nthree",
    "street1": '"quoted", with, commas',
    "city": "São Paulo",
    "vendor_data": {"note": 'say "hi"\\n\t', "ñ": "ü", "nested": ["\\", None]},
    "price": Decimal("45.50"),
    "product": "ad",
    "dob": date(1980, 2, 3),
    "military": False,
    "pregnant": True,
    "household_size": 4,
    "vendor_created_at": datetime(2026, 11, 9, 9, 3, tzinfo=UTC),
    "state": "TX",
}


def test_new_leads_with_awkward_values_are_stored_exactly_as_one_at_a_time(agent, other_agent):
    rows = [
        AWKWARD,
        {"email": "plain@example.com", "status": "Won", "first_name": ""},
        {"phone": "+12104611198", "vendor_data": {}, "price": None},
        {"phone": "+12104611197", "nextgen_id": "NG9", "product": "ad", "price": Decimal("5")},
    ]
    for row in rows:
        lead_upsert(tenant_id=other_agent.pk, incoming={**row, "source": LeadSource.NEXTGEN})

    assert upsert(agent, *rows) == [IMPORTED] * 4

    assert contents(agent) == contents(other_agent)
    assert only_lead_with(agent, phone="+12104611197").premium_price == Decimal("5.00")


def only_lead_with(tenant: Any, **match: Any) -> Lead:
    return Lead.objects.get(tenant=tenant, **match)


def test_a_concurrent_insert_is_settled_row_by_row(agent, monkeypatch):
    make_lead(agent, nextgen_id="NG1", phone="+12104611180", email="", city="")
    # As if another writer stored the lead after the batch looked for it.
    monkeypatch.setattr(bulk, "_existing_matches", lambda tenant_id, rows: [])

    assert upsert(agent, {**ANN, "city": "Austin"}, {"email": "new@example.com"}) == [
        UPDATED,
        IMPORTED,
    ]

    assert Lead.objects.filter(tenant=agent).count() == 2
    assert Lead.objects.get(tenant=agent, nextgen_id="NG1").city == "Austin"
    assert Lead.objects.get(tenant=agent, email="new@example.com").source == LeadSource.NEXTGEN


def test_other_tenants_leads_are_never_matched(agent, other_agent):
    theirs = make_lead(other_agent, **{k: v for k, v in ANN.items() if k != "first_name"})

    assert upsert(agent, ANN) == [IMPORTED]

    theirs.refresh_from_db()
    assert theirs.first_name == "Test"
    assert Lead.objects.filter(tenant=agent).count() == 1


def test_rows_without_phone_or_email_are_refused(agent):
    with pytest.raises(ValueError, match="phone or an email"):
        upsert(agent, {"nextgen_id": "NG1"})


def _change_in_another_connection(lead_id: int) -> None:
    def change() -> None:
        try:
            Lead.objects.filter(pk=lead_id).update(
                notes="agent wrote this", updated_at=timezone.now()
            )
        finally:
            connection.close()

    writer = threading.Thread(target=change)
    writer.start()
    writer.join()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lead_changed_after_the_lookup_is_merged_again(agent, monkeypatch):
    lead = make_lead(agent, nextgen_id="NG1", phone="+12104611180", email="", city="")
    looked_up = bulk._existing_matches

    def then_changed_by_someone_else(tenant_id: int, rows: list) -> list:
        found = looked_up(tenant_id, rows)
        _change_in_another_connection(lead.pk)
        return found

    monkeypatch.setattr(bulk, "_existing_matches", then_changed_by_someone_else)

    assert upsert(agent, {**ANN, "city": "Austin"}) == [UPDATED]

    lead.refresh_from_db()
    assert (lead.city, lead.notes) == ("Austin", "agent wrote this")


# --- Batches of one import share what they wrote (LeadKeys) ----------------------------------


def upsert_with(keys: bulk.LeadKeys, tenant: Any, *rows: dict) -> list[str]:
    return lead_bulk_upsert(
        tenant_id=tenant.pk,
        rows=list(rows),
        source=LeadSource.NEXTGEN,
        assigned_to_id=tenant.pk,
        keys=keys,
    ).outcomes


def looked_up_keys(monkeypatch) -> list[dict[str, set[str]]]:
    """Record the keys each batch looks up in the database."""
    calls: list[dict[str, set[str]]] = []
    look_up = bulk._existing_matches

    def recorded(tenant_id: int, keys: dict[str, set[str]]) -> list:
        calls.append(keys)
        return look_up(tenant_id, keys)

    monkeypatch.setattr(bulk, "_existing_matches", recorded)
    return calls


def test_an_import_into_an_empty_tenant_looks_up_only_keys_it_wrote(agent, monkeypatch):
    keys = bulk.LeadKeys.for_tenant(agent.pk)
    calls = looked_up_keys(monkeypatch)

    assert upsert_with(keys, agent, ANN, {"phone": "+12104611181"}) == [IMPORTED, IMPORTED]
    assert upsert_with(keys, agent, {"email": "ann@example.com", "city": "Austin"}) == [UPDATED]
    assert upsert_with(keys, agent, {"email": "bob@example.com"}) == [IMPORTED]

    assert calls == [{"nextgen_id": set(), "phone": set(), "email": {"ann@example.com"}}]
    assert Lead.objects.get(tenant=agent, nextgen_id="NG1").city == "Austin"


def test_a_tenant_with_leads_has_every_row_looked_up(agent, monkeypatch):
    make_lead(agent, phone="+12104611180", email="", city="")
    keys = bulk.LeadKeys.for_tenant(agent.pk)
    calls = looked_up_keys(monkeypatch)

    assert upsert_with(keys, agent, {**ANN, "city": "Austin"}) == [UPDATED]

    assert len(calls) == 1
    assert only_lead(agent).city == "Austin"


def test_a_lead_stored_by_another_door_during_the_import_is_merged_not_duplicated(agent):
    keys = bulk.LeadKeys.for_tenant(agent.pk)
    assert upsert_with(keys, agent, {"phone": "+12104611181"}) == [IMPORTED]
    # The webhook stores Ann after the import began: no batch of the import wrote her keys.
    lead_upsert(tenant_id=agent.pk, incoming={**ANN, "city": ""})

    assert upsert_with(keys, agent, {**ANN, "city": "Austin"}) == [UPDATED]

    assert Lead.objects.filter(tenant=agent).count() == 2
    assert Lead.objects.get(tenant=agent, nextgen_id="NG1").city == "Austin"
    batch = {"nextgen_id": [None], "phone": [None], "email": ["x@example.com"]}
    assert keys.to_look_up(batch)["email"] == {"x@example.com"}


@pytest.mark.postgres
def test_new_leads_prepared_ahead_are_written_as_prepared_only_for_their_owner(
    agent, other_agent, monkeypatch
):
    formatted = []
    copy_lines = bulk._PostgresWriter.copy_lines

    def counted(writer: Any, leads: bulk.LeadColumns) -> list[str]:
        formatted.append(leads.count)
        return copy_lines(writer, leads)

    monkeypatch.setattr(bulk._PostgresWriter, "copy_lines", counted)
    rows = bulk.LeadColumns.from_rows([AWKWARD, {"email": "plain@example.com"}])
    owner = {"source": LeadSource.NEXTGEN, "assigned_to_id": agent.pk}

    prepared = bulk.lead_bulk_prepare(rows, tenant_id=agent.pk, **owner)
    assert formatted == [2]
    lead_bulk_upsert(rows=prepared, tenant_id=agent.pk, **owner)
    assert formatted == [2]  # written as prepared
    lead_bulk_upsert(rows=prepared, tenant_id=other_agent.pk, **owner)
    assert formatted == [2, 2]  # prepared for another tenant: formatted again

    assert Lead.objects.filter(tenant=agent).count() == 2
    assert contents(agent) == contents(other_agent)

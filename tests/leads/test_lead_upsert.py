"""leads.services.lead_upsert and lead_merge: the one merge rule every door feeds leads through."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from leads.errors import InvalidInput
from leads.models import Lead, LeadStatus
from leads.services import lead_merge, lead_upsert, premium_note
from tests.factories import make_lead
from tests.helpers import nextgen_body
from webhooks.serializers import nextgen_payload_validate

pytestmark = pytest.mark.django_db

PREMIUM_NOTE = "Premium listing applied: base $45.00 + premium $12.50 = $57.50"


def delivered(name: str = "nextgen_data.json", **overrides: Any) -> dict[str, Any]:
    """Return a fixture body as the normalised lead fields the webhook hands to lead_upsert."""
    return nextgen_payload_validate(nextgen_body(name, **overrides))


@pytest.fixture(
    params=[
        "inside a transaction",
        pytest.param("in autocommit", marks=pytest.mark.django_db(transaction=True)),
    ]
)
def caller(request) -> str:
    """Run a test both ways lead_upsert is called: the insert-first path needs autocommit."""
    assert transaction.get_connection().in_atomic_block == (request.param != "in autocommit")
    return request.param


def stored(lead: Lead) -> dict[str, Any]:
    return {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}


# --- lead_merge ------------------------------------------------------------------------------


def test_merge_for_a_new_lead_keeps_only_given_values():
    values = lead_merge(None, delivered(street_address="", dob=None, medical_conditions=[]))

    assert "street1" not in values
    assert "dob" not in values
    assert "medical_conditions" not in values
    assert "premium_price" not in values
    assert values["tobacco_user"] is False
    assert values["call_duration"] == 0
    assert values["phone"] == "+12104611180"


def test_merge_of_the_same_delivery_changes_nothing():
    incoming = delivered()
    current = {**lead_merge(None, incoming), "status": LeadStatus.NEW, "notes": ""}

    assert lead_merge(current, incoming) == {}


def test_merge_takes_non_empty_incoming_values_and_ignores_empty_ones():
    current = lead_merge(None, delivered())

    changes = lead_merge(
        current, delivered(first_name="María", city="", household_size=None, tobacco_user=True)
    )

    assert changes == {"first_name": "María", "tobacco_user": True}


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        ({"status": LeadStatus.NEW}, {"status": "Contacted"}, {"status": "Contacted"}),
        ({"status": "Won"}, {"status": "Contacted"}, {}),
        ({"disposition": ""}, {"disposition": "Quoted"}, {"disposition": "Quoted"}),
        ({"disposition": "SOLD"}, {"disposition": "Quoted"}, {}),
        ({"notes": ""}, {"notes": "From the vendor"}, {"notes": "From the vendor"}),
        ({"notes": "Agent's own words"}, {"notes": "From the vendor"}, {}),
    ],
)
def test_merge_fills_the_agents_fields_only_while_they_are_empty(current, incoming, expected):
    assert lead_merge(current, incoming) == expected


def test_merge_adds_new_vendor_data_keys_to_the_old_ones():
    current = {"vendor_data": {"age": 46, "utm_term": "old"}}

    changes = lead_merge(current, {"vendor_data": {"utm_term": "new", "landing_page": "/tx"}})

    assert changes == {"vendor_data": {"age": 46, "utm_term": "new", "landing_page": "/tx"}}


def test_premium_note_states_base_premium_and_total():
    assert premium_note(Decimal("45.00"), Decimal("12.50")) == PREMIUM_NOTE


def test_merge_of_an_ad_onto_its_data_adds_the_premium_once():
    data = lead_merge(None, delivered())
    ad = delivered("nextgen_ad.json")

    changes = lead_merge(data, ad)

    assert changes["price"] == Decimal("57.50")
    assert changes["premium_price"] == Decimal("12.50")
    assert changes["notes"] == PREMIUM_NOTE
    assert "product" not in changes
    assert lead_merge({**data, **changes}, ad).keys() <= {"vendor_created_at"}


def test_merge_of_data_onto_its_ad_takes_the_data_price_as_base():
    ad = lead_merge(None, delivered("nextgen_ad.json"))
    assert (ad["price"], ad["premium_price"], ad["product"]) == (
        Decimal("12.50"),
        Decimal("12.50"),
        "ad",
    )

    changes = lead_merge(ad, delivered())

    assert (changes["price"], changes["product"], changes["notes"]) == (
        Decimal("57.50"),
        "data",
        PREMIUM_NOTE,
    )
    assert "premium_price" not in changes
    assert lead_merge({**ad, **changes}, delivered()) == {}


def test_merge_of_an_ad_without_a_price_changes_no_price():
    data = lead_merge(None, delivered())

    changes = lead_merge(data, delivered("nextgen_ad.json", price=None))

    assert not changes.keys() & {"price", "premium_price", "notes"}


def test_merge_keeps_the_first_price_of_data_redelivered_at_another_price():
    data = lead_merge(None, delivered())

    assert "price" not in lead_merge(data, delivered(price="50.00"))


# --- lead_upsert -----------------------------------------------------------------------------


def test_upsert_creates_a_lead_with_its_time_zone(caller, agent):
    result = lead_upsert(tenant_id=agent.pk, incoming=delivered())

    assert result.is_new is True
    lead = Lead.objects.get()
    assert result.lead == lead
    assert lead.tenant == agent
    assert lead.time_zone == "America/Chicago"
    assert lead.status == LeadStatus.NEW


def test_upsert_of_the_same_delivery_writes_nothing(caller, agent):
    first = lead_upsert(tenant_id=agent.pk, incoming=delivered())
    before = stored(Lead.objects.get())

    again = lead_upsert(tenant_id=agent.pk, incoming=delivered())

    assert again.is_new is False
    assert again.lead.pk == first.lead.pk
    assert again.changed_fields == []
    assert stored(Lead.objects.get()) == before


def test_upsert_matches_the_nextgen_id_before_phone_and_email(caller, agent):
    by_id = make_lead(agent, nextgen_id="NG2026112500042", phone="+12105550101")
    by_contact = make_lead(agent, phone="+12104611180", email="maria.hernandez@example.com")

    result = lead_upsert(tenant_id=agent.pk, incoming=delivered())

    assert result.lead.pk == by_id.pk
    by_id.refresh_from_db()
    # The phone and email belong to another lead, so they are not copied onto this one.
    assert by_id.phone == "+12105550101"
    assert by_id.email != "maria.hernandez@example.com"
    assert by_id.first_name == "Maria"
    assert stored(Lead.objects.get(pk=by_contact.pk)) == stored(by_contact)
    assert Lead.objects.count() == 2


def test_upsert_matches_the_phone_before_the_email(caller, agent):
    by_phone = make_lead(agent, phone="+12104611180", email="old@example.com")
    by_email = make_lead(agent, phone="+12105550102", email="maria.hernandez@example.com")

    result = lead_upsert(tenant_id=agent.pk, incoming=delivered())

    assert result.lead.pk == by_phone.pk
    by_phone.refresh_from_db()
    assert by_phone.email == "old@example.com"
    assert by_phone.nextgen_id == "NG2026112500042"
    assert Lead.objects.get(pk=by_email.pk).nextgen_id == ""


def test_upsert_matches_the_email_last(caller, agent):
    by_email = make_lead(agent, phone="+12105550103", email="maria.hernandez@example.com")

    result = lead_upsert(tenant_id=agent.pk, incoming=delivered())

    assert result.is_new is False
    assert result.lead.pk == by_email.pk
    by_email.refresh_from_db()
    assert by_email.phone == "+12104611180"
    assert Lead.objects.count() == 1


def test_upsert_never_matches_another_tenants_lead(caller, agent, other_agent):
    theirs = make_lead(
        other_agent,
        nextgen_id="NG2026112500042",
        phone="+12104611180",
        email="maria.hernandez@example.com",
    )

    result = lead_upsert(tenant_id=agent.pk, incoming=delivered())

    assert result.is_new is True
    assert result.lead.tenant_id == agent.pk
    assert stored(Lead.objects.get(pk=theirs.pk)) == stored(theirs)


def test_upsert_recomputes_the_time_zone_when_state_or_phone_change(agent):
    lead_upsert(tenant_id=agent.pk, incoming=delivered())

    lead_upsert(tenant_id=agent.pk, incoming=delivered(state="FL", phone="(850) 555-0104"))

    lead = Lead.objects.get()
    assert (lead.state, lead.phone) == ("FL", "+18505550104")
    assert lead.time_zone == "America/Chicago"  # the Florida panhandle

    lead_upsert(tenant_id=agent.pk, incoming=delivered(state="FL", phone="(305) 555-0105"))

    assert Lead.objects.get().time_zone == "America/New_York"


def test_upsert_keeps_what_the_agent_set(agent):
    lead = lead_upsert(tenant_id=agent.pk, incoming=delivered()).lead
    Lead.objects.filter(pk=lead.pk).update(
        status=LeadStatus.FOLLOW_UP, disposition="Quoted", notes="Spouse decides"
    )

    lead_upsert(tenant_id=agent.pk, incoming=delivered("nextgen_variant.json", lead_id=""))
    lead_upsert(
        tenant_id=agent.pk,
        incoming={**delivered(), "status": "New", "disposition": "SOLD", "notes": "Vendor"},
    )

    lead.refresh_from_db()
    assert (lead.status, lead.disposition, lead.notes) == (
        LeadStatus.FOLLOW_UP,
        "Quoted",
        "Spouse decides",
    )


def test_upsert_of_an_ad_for_a_known_lead_adds_its_price_once(caller, agent):
    lead_upsert(tenant_id=agent.pk, incoming=delivered())

    for _ in range(2):
        result = lead_upsert(tenant_id=agent.pk, incoming=delivered("nextgen_ad.json"))

    assert result.is_new is False
    lead = Lead.objects.get()
    assert (lead.price, lead.premium_price, lead.notes) == (
        Decimal("57.50"),
        Decimal("12.50"),
        PREMIUM_NOTE,
    )


def test_upsert_of_a_nextgen_id_alone_updates_its_lead(caller, agent):
    lead_upsert(tenant_id=agent.pk, incoming=delivered())

    result = lead_upsert(
        tenant_id=agent.pk,
        incoming={"nextgen_id": "NG2026112500042", "product": "ad", "price": Decimal("12.50")},
    )

    assert result.is_new is False
    assert Lead.objects.get().price == Decimal("57.50")


@pytest.mark.parametrize(
    "incoming",
    [
        {"first_name": "Nobody"},
        {"first_name": "Nobody", "phone": "", "email": ""},
        {"nextgen_id": "NG-UNKNOWN", "first_name": "Nobody"},
    ],
    ids=["no keys", "blank keys", "unknown nextgen id only"],
)
def test_upsert_of_a_new_lead_without_phone_or_email_is_refused(caller, agent, incoming):
    with pytest.raises(InvalidInput) as refused:
        lead_upsert(tenant_id=agent.pk, incoming={"source": "NextGen", **incoming})

    assert "phone" in refused.value.fields
    assert Lead.objects.count() == 0

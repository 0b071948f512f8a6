"""The socket events' lead resource is exactly what the API's serializer gives."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leads.models import Lead, LeadSource, LeadStatus
from leads.serializers import LeadSerializer, lead_resource
from tests.factories import make_agent, make_lead

pytestmark = pytest.mark.django_db


def test_a_full_lead_reads_as_the_serializer_gives_it(agent):
    assistant = make_agent("assistant")
    lead = make_lead(
        agent,
        assigned_to=assistant,
        street1="400 Oak Ave",
        street2="Apt 3",
        city="San Antonio",
        zipcode="78201",
        dob=date(1980, 3, 15),
        gender="Female",
        height="5'5\"",
        weight="140",
        military=False,
        pregnant=True,
        has_medical_condition=None,
        medical_conditions="Asthma, Diabetes",
        household_size=3,
        household_income="$50,000-$75,000",
        status=LeadStatus.FOLLOW_UP,
        disposition="Quoted",
        notes="Call after 5\nPremium listing applied",
        nextgen_id="NG-1",
        price=Decimal("57.5"),
        premium_price=Decimal("12.50"),
        product="ad",
        call_duration=42,
        vendor_created_at=datetime(2026, 11, 25, 14, 3, tzinfo=UTC),
        vendor_data={"age": 44, "tags": ["a", "b"], "nested": {"x": None}},
    )
    lead.refresh_from_db()

    assert lead_resource(lead) == LeadSerializer(lead).data
    assert list(lead_resource(lead)) == list(LeadSerializer(lead).data)


def test_a_lead_fresh_from_create_reads_the_same_as_after_a_reload(agent):
    # Straight from create() the status is the enum member and the price the Decimal given.
    lead = Lead.objects.create(
        tenant=agent, email="only@example.com", source=LeadSource.NEXTGEN, price=Decimal("45")
    )

    resource = lead_resource(lead)

    assert resource == LeadSerializer(lead).data
    assert type(resource["status"]) is str
    assert resource["price"] == "45.00"
    lead.refresh_from_db()
    assert lead_resource(lead) == resource


def test_a_hand_typed_phone_is_shown_as_stored(agent):
    lead = make_lead(agent, phone="call me", email="typed@example.com")

    assert lead_resource(lead)["phoneDisplay"] == "call me"
    assert lead_resource(lead) == LeadSerializer(lead).data

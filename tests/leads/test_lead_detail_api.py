"""GET/PATCH /api/leads/{id} (CONTRACT §3): one lead, its edits, tenancy and CSRF."""

import asyncio
from datetime import date
from http import HTTPStatus
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from leads.events import tenant_group_name
from leads.models import Lead, LeadStatus
from tests.factories import PASSWORD, make_disposition, make_lead

pytestmark = pytest.mark.django_db


def detail_url(lead_id: int, *, slash: bool = False) -> str:
    return f"/api/leads/{lead_id}" + ("/" if slash else "")


def patch(client: APIClient, lead: Lead, changes: Any, **extra: Any) -> Any:
    return client.patch(detail_url(lead.pk), changes, format="json", **extra)


def stored(lead: Lead) -> dict[str, Any]:
    """Return every column of the lead as the database now holds it."""
    return model_to_dict(Lead.objects.get(pk=lead.pk)) | {
        "updated_at": Lead.objects.get(pk=lead.pk).updated_at
    }


@pytest.fixture
def lead(agent) -> Lead:
    return make_lead(
        agent,
        first_name="Maria",
        last_name="Gonzalez",
        email="maria@example.com",
        phone="+12104611180",
        state="TX",
        zipcode="78205",
        time_zone="America/Chicago",
        notes="Call after 5",
        disposition="Quoted",
    )


# --- GET ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("slash", [False, True])
def test_get_answers_the_lead_with_and_without_trailing_slash(agent_client, lead, slash):
    response = agent_client.get(detail_url(lead.pk, slash=slash))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["id"] == lead.pk
    assert body["tenantId"] == lead.tenant_id
    assert body["name"] == "Maria Gonzalez"
    assert body["phone"] == "+12104611180"
    assert body["phoneDisplay"] == "(210) 461-1180"


@pytest.mark.parametrize("slash", [False, True])
def test_another_tenants_lead_is_not_found_never_forbidden(other_client, lead, slash):
    response = other_client.get(detail_url(lead.pk, slash=slash))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("lead_id", [999_999, 2**63, 10**30])
def test_missing_lead_is_not_found(agent_client, lead, lead_id):
    response = agent_client.get(detail_url(lead_id))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("slash", [False, True])
def test_anonymous_get_and_patch_are_refused_with_401(anon_client, lead, slash):
    before = stored(lead)

    get_response = anon_client.get(detail_url(lead.pk, slash=slash))
    patch_response = anon_client.patch(
        detail_url(lead.pk, slash=slash), {"notes": "x"}, format="json"
    )

    assert get_response.status_code == HTTPStatus.UNAUTHORIZED
    assert patch_response.status_code == HTTPStatus.UNAUTHORIZED
    assert stored(lead) == before


# --- PATCH: desk fields ------------------------------------------------------------------------


@pytest.mark.parametrize("slash", [False, True])
def test_patch_changes_status_and_answers_the_updated_lead(agent_client, lead, slash):
    response = agent_client.patch(
        detail_url(lead.pk, slash=slash), {"status": "Contacted"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "Contacted"
    assert response.json()["updatedAt"] != lead.updated_at.isoformat()
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONTACTED


@pytest.mark.parametrize("status", LeadStatus.values)
def test_patch_accepts_every_status(agent_client, lead, status):
    response = patch(agent_client, lead, {"status": status})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).status == status


def test_patch_sets_a_default_disposition(agent_client, lead):
    response = patch(agent_client, lead, {"disposition": "Unhealthy/Referred"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["disposition"] == "Unhealthy/Referred"
    assert Lead.objects.get(pk=lead.pk).disposition == "Unhealthy/Referred"


def test_patch_with_empty_disposition_clears_it(agent_client, lead):
    response = patch(agent_client, lead, {"disposition": ""})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).disposition == ""


def test_patch_sets_notes(agent_client, lead):
    response = patch(agent_client, lead, {"notes": "Wants a quote.\nSpouse too. é"})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).notes == "Wants a quote.\nSpouse too. é"


def test_patch_with_empty_notes_clears_them(agent_client, lead):
    response = patch(agent_client, lead, {"notes": ""})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["notes"] == ""
    assert Lead.objects.get(pk=lead.pk).notes == ""


def test_patch_changes_several_fields_at_once(agent_client, lead):
    response = patch(agent_client, lead, {"status": "Won", "disposition": "SOLD", "notes": "Done"})

    assert response.status_code == HTTPStatus.OK
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.status, saved.disposition, saved.notes) == ("Won", "SOLD", "Done")


def test_empty_patch_changes_nothing(agent_client, lead):
    before = stored(lead)

    response = patch(agent_client, lead, {})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == lead.pk
    assert stored(lead) == before


def test_tenants_own_custom_disposition_is_accepted(agent_client, agent, lead):
    make_disposition("Call Back Friday", tenant=agent)

    response = patch(agent_client, lead, {"disposition": "Call Back Friday"})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).disposition == "Call Back Friday"


def test_another_tenants_custom_disposition_is_refused(agent_client, other_agent, lead):
    make_disposition("Bob's Secret Pile", tenant=other_agent)

    response = patch(agent_client, lead, {"disposition": "Bob's Secret Pile"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["disposition"]
    assert Lead.objects.get(pk=lead.pk).disposition == "Quoted"


# --- PATCH: contact fields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "column", "expected"),
    [
        ({"phone": "(210) 555-0147"}, "phone", "+12105550147"),
        ({"phone": "1-512-555-0100"}, "phone", "+15125550100"),
        ({"phone": "+1 (210) 555-0147 ext. 12"}, "phone", "+12105550147"),
        ({"email": "  Maria.G@Example.COM "}, "email", "maria.g@example.com"),
        ({"state": "California"}, "state", "CA"),
        ({"state": "new york"}, "state", "NY"),
        ({"state": "fl"}, "state", "FL"),
        ({"zipcode": "90210-1234"}, "zipcode", "90210"),
        ({"firstName": "Marisol"}, "first_name", "Marisol"),
        ({"lastName": "Núñez"}, "last_name", "Núñez"),
        ({"street1": "1 Elm St"}, "street1", "1 Elm St"),
        ({"street2": "Unit 9"}, "street2", "Unit 9"),
        ({"city": "Austin"}, "city", "Austin"),
        ({"dob": "1975-12-31"}, "dob", date(1975, 12, 31)),
        ({"dob": None}, "dob", None),
    ],
)
def test_patch_normalises_contact_fields(agent_client, lead, changes, column, expected):
    response = patch(agent_client, lead, changes)

    assert response.status_code == HTTPStatus.OK, response.json()
    assert getattr(Lead.objects.get(pk=lead.pk), column) == expected


def test_patched_phone_is_answered_in_both_forms(agent_client, lead):
    body = patch(agent_client, lead, {"phone": "(210) 461-1181"}).json()

    assert body["phone"] == "+12104611181"
    assert body["phoneDisplay"] == "(210) 461-1181"


def test_patch_can_clear_the_email_of_a_lead_that_keeps_a_phone(agent_client, lead):
    response = patch(agent_client, lead, {"email": ""})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).email == ""


def test_patch_refuses_to_leave_a_lead_without_phone_and_email(agent_client, lead):
    before = stored(lead)

    response = patch(agent_client, lead, {"email": "", "phone": ""})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "phone" in response.json()["fields"]
    assert stored(lead) == before


@pytest.mark.parametrize(
    ("state", "time_zone"),
    [("California", "America/Los_Angeles"), ("NY", "America/New_York"), ("", "")],
)
def test_time_zone_follows_a_state_change(agent_client, lead, state, time_zone):
    body = patch(agent_client, lead, {"state": state}).json()

    assert body["timeZone"] == time_zone
    assert Lead.objects.get(pk=lead.pk).time_zone == time_zone


def test_time_zone_follows_a_phone_change_in_a_split_state(agent_client, lead):
    # El Paso (915) keeps Mountain time although Texas is mostly Central.
    body = patch(agent_client, lead, {"phone": "(915) 555-0100"}).json()

    assert body["timeZone"] == "America/Denver"


def test_time_zone_is_kept_when_neither_state_nor_phone_changes(agent_client, agent):
    lead = make_lead(agent, state="TX", time_zone="America/Chicago")

    patch(agent_client, lead, {"notes": "x", "city": "El Paso"})

    assert Lead.objects.get(pk=lead.pk).time_zone == "America/Chicago"


# --- PATCH: refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "Sold"}, "status"),
        ({"status": "new"}, "status"),
        ({"status": ""}, "status"),
        ({"status": None}, "status"),
        ({"disposition": "Made Up"}, "disposition"),
        ({"disposition": "No Disposition"}, "disposition"),
        ({"phone": "123"}, "phone"),
        ({"phone": "(555) 123-4567"}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"email": "maria@"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"state": "Atlantis"}, "state"),
        ({"state": "ZZ"}, "state"),
        ({"zipcode": "ABCDE"}, "zipcode"),
        ({"dob": "not a date"}, "dob"),
        ({"notes": None}, "notes"),
        ({"notes": ["a list"]}, "notes"),
    ],
)
def test_invalid_value_is_refused_and_nothing_changes(agent_client, lead, changes, field):
    before = stored(lead)

    response = patch(agent_client, lead, changes)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert set(body) == {"error", "fields"}
    assert list(body["fields"]) == [field]
    assert body["error"].startswith(f"{field}: ")
    assert stored(lead) == before


def test_one_invalid_field_refuses_the_whole_patch(agent_client, lead):
    before = stored(lead)

    response = patch(agent_client, lead, {"status": "Won", "notes": "ok", "email": "nope"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["email"]
    assert stored(lead) == before


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "tenantId",
        "tenant",
        "source",
        "createdAt",
        "updatedAt",
        "timeZone",
        "name",
        "phoneDisplay",
        "nextgenId",
        "price",
        "first_name",
        "foo",
    ],
)
def test_unknown_or_read_only_field_is_refused_and_nothing_changes(agent_client, lead, field):
    before = stored(lead)

    response = patch(agent_client, lead, {field: "x", "notes": "changed"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == [field]
    assert stored(lead) == before


@pytest.mark.parametrize("body", [["notes"], "notes", 42])
def test_patch_body_that_is_not_an_object_is_refused(agent_client, lead, body):
    before = stored(lead)

    response = patch(agent_client, lead, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "error" in response.json()
    assert stored(lead) == before


def test_phone_of_another_of_your_leads_is_refused(agent_client, agent, lead):
    make_lead(agent, phone="+15125550100")
    before = stored(lead)

    response = patch(agent_client, lead, {"phone": "(512) 555-0100"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["phone"]
    assert stored(lead) == before


def test_email_of_another_of_your_leads_is_refused(agent_client, agent, lead):
    make_lead(agent, email="taken@example.com")
    before = stored(lead)

    response = patch(agent_client, lead, {"email": "TAKEN@example.com"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["email"]
    assert stored(lead) == before


def test_phone_and_email_of_another_tenants_lead_do_not_collide(agent_client, other_agent, lead):
    make_lead(other_agent, phone="+15125550100", email="shared@example.com")

    response = patch(agent_client, lead, {"phone": "5125550100", "email": "shared@example.com"})

    assert response.status_code == HTTPStatus.OK
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.phone, saved.email) == ("+15125550100", "shared@example.com")


def test_patch_with_the_leads_own_phone_is_not_a_collision(agent_client, lead):
    response = patch(agent_client, lead, {"phone": "(210) 461-1180", "status": "Won"})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).status == "Won"


@pytest.mark.parametrize("slash", [False, True])
def test_patching_another_tenants_lead_is_not_found_and_changes_nothing(other_client, lead, slash):
    before = stored(lead)

    response = other_client.patch(
        detail_url(lead.pk, slash=slash), {"notes": "hijacked"}, format="json"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert stored(lead) == before


def test_patching_a_missing_lead_is_not_found(agent_client):
    response = agent_client.patch(detail_url(999_999), {"notes": "x"}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND


# --- Events ------------------------------------------------------------------------------------


def test_patch_announces_lead_updated_to_the_tenant_after_commit(
    agent_client, lead, django_capture_on_commit_callbacks
):
    def patch_and_commit() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert patch(agent_client, lead, {"status": "Won"}).status_code == HTTPStatus.OK

    async def listen_while_patching() -> dict[str, Any]:
        # One event loop for the whole exchange: a pub/sub layer serves a channel only on the
        # loop that created it.
        layer = get_channel_layer()
        channel = await layer.new_channel()
        group = tenant_group_name(lead.tenant_id)
        await layer.group_add(group, channel)
        try:
            await sync_to_async(patch_and_commit)()
            return await asyncio.wait_for(layer.receive(channel), timeout=10)
        finally:
            await layer.group_discard(group, channel)

    message = async_to_sync(listen_while_patching)()

    assert message["payload"]["type"] == "lead_updated"
    assert message["payload"]["lead"]["id"] == lead.pk
    assert message["payload"]["lead"]["status"] == "Won"


def test_refused_patch_announces_nothing(agent_client, lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        patch(agent_client, lead, {"status": "Sold"})
        patch(agent_client, lead, {"phone": "", "email": ""})
        patch(agent_client, lead, {"phone": make_lead(lead.tenant).phone})

    assert callbacks == []


# --- Session and token authentication ----------------------------------------------------------


@pytest.fixture
def session_client(agent) -> APIClient:
    """A browser-like client: session login, and CSRF enforced as in production."""
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=agent.username, password=PASSWORD)
    client.get("/accounts/login/")  # the login form sets the CSRF cookie, as in a browser
    return client


def test_session_patch_without_csrf_token_is_refused(session_client, lead):
    before = stored(lead)

    response = patch(session_client, lead, {"notes": "no token"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.json()["error"]
    assert stored(lead) == before


def test_session_patch_with_csrf_token_succeeds(session_client, lead):
    token = session_client.cookies["csrftoken"].value

    response = patch(session_client, lead, {"notes": "with token"}, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).notes == "with token"


def test_session_get_needs_no_csrf_token(session_client, lead):
    assert session_client.get(detail_url(lead.pk)).status_code == HTTPStatus.OK


def test_token_patch_needs_no_csrf_token(agent, lead):
    client = APIClient(enforce_csrf_checks=True)
    token = client.post(
        "/api/auth/token", {"username": agent.username, "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = patch(client, lead, {"notes": "by token"})

    assert response.status_code == HTTPStatus.OK
    assert Lead.objects.get(pk=lead.pk).notes == "by token"

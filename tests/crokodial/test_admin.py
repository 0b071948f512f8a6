"""The Django admin: operators browse every tenant; agents never get in; key hashes never show."""

from http import HTTPStatus

import pytest
from django.test import Client

from leads.models import Disposition, Lead, LeadEvent, LeadEventKind, LeadSource
from leads.services import lead_update
from tests.factories import make_agent, make_lead
from webhooks.models import NextGenCredential
from webhooks.services import nextgen_credential_issue

pytestmark = pytest.mark.django_db

LEADS = "/admin/leads/lead/"
DISPOSITIONS = "/admin/leads/disposition/"
CREDENTIALS = "/admin/webhooks/nextgencredential/"
USERS = "/admin/auth/user/"
EVENTS = "/admin/leads/leadevent/"


@pytest.fixture
def admin_browser(db) -> Client:
    client = Client()
    client.force_login(make_agent("root", is_admin=True))
    return client


@pytest.mark.parametrize("changelist", [LEADS, DISPOSITIONS, CREDENTIALS, USERS, EVENTS])
def test_superuser_can_open_every_changelist(admin_browser, agent, changelist):
    make_lead(agent)
    nextgen_credential_issue(tenant=agent)

    response = admin_browser.get(changelist)

    assert response.status_code == HTTPStatus.OK


def test_lead_changelist_filters_by_source(admin_browser, agent):
    make_lead(agent, last_name="Viagen", source=LeadSource.NEXTGEN)
    make_lead(agent, last_name="Viamarket", source=LeadSource.MARKETPLACE)

    response = admin_browser.get(LEADS, {"source__exact": LeadSource.NEXTGEN})

    assert response.status_code == HTTPStatus.OK
    assert [lead.last_name for lead in response.context["cl"].result_list] == ["Viagen"]


def test_lead_changelist_filters_by_tenant(admin_browser, agent, other_agent):
    mine = make_lead(agent)
    make_lead(other_agent)

    response = admin_browser.get(LEADS, {"tenant__id__exact": agent.pk})

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["cl"].result_list) == [mine]


@pytest.mark.parametrize("query", ["Zanzibar", "zanzibar@example.com", "+12105550199"])
def test_lead_changelist_searches_name_email_and_phone(admin_browser, agent, query):
    wanted = make_lead(
        agent, last_name="Zanzibar", email="zanzibar@example.com", phone="+12105550199"
    )
    make_lead(agent)

    response = admin_browser.get(LEADS, {"q": query})

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["cl"].result_list) == [wanted]


def test_lead_change_page_opens(admin_browser, agent):
    lead = make_lead(agent)

    response = admin_browser.get(f"{LEADS}{lead.pk}/change/")

    assert response.status_code == HTTPStatus.OK


def test_disposition_changelist_filters_defaults_and_searches(admin_browser, agent):
    Disposition.objects.create(name="Quokka callback", tenant=agent)

    own = admin_browser.get(DISPOSITIONS, {"tenant__isempty": "0"})
    found = admin_browser.get(DISPOSITIONS, {"q": "Quokka"})

    assert own.status_code == HTTPStatus.OK
    assert [d.name for d in own.context["cl"].result_list] == ["Quokka callback"]
    assert [d.name for d in found.context["cl"].result_list] == ["Quokka callback"]


def test_credential_changelist_filters_and_searches(admin_browser, agent, other_agent):
    credential, _ = nextgen_credential_issue(tenant=agent)
    nextgen_credential_issue(tenant=other_agent)

    active = admin_browser.get(CREDENTIALS, {"is_active__exact": "1"})
    found = admin_browser.get(CREDENTIALS, {"q": agent.username})

    assert active.status_code == HTTPStatus.OK
    assert len(active.context["cl"].result_list) == 2
    assert list(found.context["cl"].result_list) == [credential]


def test_credential_change_page_never_shows_the_key_hash(admin_browser, agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)

    response = admin_browser.get(f"{CREDENTIALS}{credential.pk}/change/")

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert credential.sid in page
    assert credential.key_hash not in page
    assert "key_hash" not in page
    assert api_key not in page


def test_credential_changelist_never_shows_the_key_hash(admin_browser, agent):
    credential, _ = nextgen_credential_issue(tenant=agent)

    page = admin_browser.get(CREDENTIALS).content.decode()

    assert credential.key_hash not in page


def test_credentials_cannot_be_added_in_the_admin(admin_browser):
    response = admin_browser.get(f"{CREDENTIALS}add/")

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_user_changelist_searches_by_username(admin_browser, agent, other_agent):
    response = admin_browser.get(USERS, {"q": agent.username})

    assert response.status_code == HTTPStatus.OK
    assert list(response.context["cl"].result_list) == [agent]


@pytest.mark.parametrize("path", ["/admin/", LEADS, CREDENTIALS])
def test_agent_who_is_not_staff_is_sent_to_the_admin_login(agent, path):
    client = Client()
    client.force_login(agent)

    response = client.get(path)

    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith("/admin/login/")


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(LEADS)

    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith("/admin/login/")


def test_a_rotated_credential_cannot_be_reactivated_in_the_admin(admin_browser, agent):
    old, _ = nextgen_credential_issue(tenant=agent)
    new, _ = nextgen_credential_issue(tenant=agent, rotate=True)

    response = admin_browser.post(f"{CREDENTIALS}{old.pk}/change/", {"is_active": "on"})

    assert response.status_code == HTTPStatus.FOUND
    old.refresh_from_db()
    assert not old.is_active
    assert NextGenCredential.objects.get(tenant=agent, is_active=True) == new


def test_deactivating_a_credential_in_the_admin_stops_it(admin_browser, agent):
    credential, _ = nextgen_credential_issue(tenant=agent)

    response = admin_browser.post(f"{CREDENTIALS}{credential.pk}/change/", {})

    assert response.status_code == HTTPStatus.FOUND
    credential.refresh_from_db()
    assert not credential.is_active


def story(lead: Lead) -> None:
    """Two changes on the lead's timeline, through the service that records them."""
    lead_update(lead=lead, changes={"status": "Contacted"})
    lead_update(lead=lead, changes={"notes": "wants a quote"})


def test_event_changelist_lists_one_leads_story_by_kind(admin_browser, agent):
    lead = make_lead(agent)
    story(lead)
    story(make_lead(agent))
    LeadEvent.objects.create(
        tenant=agent, lead=lead, kind=LeadEventKind.ATTEMPT, at=lead.created_at, data={}
    )

    whole = admin_browser.get(EVENTS, {"lead__id__exact": lead.pk})
    calls = admin_browser.get(EVENTS, {"lead__id__exact": lead.pk, "kind__exact": "attempt"})
    searched = admin_browser.get(EVENTS, {"q": str(lead.pk)})
    not_an_id = admin_browser.get(EVENTS, {"q": "Ana"})

    assert whole.status_code == HTTPStatus.OK
    assert {event.lead_id for event in whole.context["cl"].result_list} == {lead.pk}
    assert len(whole.context["cl"].result_list) == 3
    assert [event.kind for event in calls.context["cl"].result_list] == ["attempt"]
    assert {event.lead_id for event in searched.context["cl"].result_list} == {lead.pk}
    assert not_an_id.status_code == HTTPStatus.OK


def test_the_lead_page_in_the_admin_links_to_its_story(admin_browser, agent):
    lead = make_lead(agent)

    page = admin_browser.get(f"{LEADS}{lead.pk}/change/").content.decode()

    assert f"{EVENTS}?lead__id__exact={lead.pk}" in page


def test_events_cannot_be_added_edited_or_deleted_in_the_admin(admin_browser, agent):
    lead = make_lead(agent)
    story(lead)
    event = LeadEvent.objects.filter(lead=lead).first()
    before = list(LeadEvent.objects.values_list("pk", "kind", "data").order_by("pk"))

    added = admin_browser.get(f"{EVENTS}add/")
    viewed = admin_browser.get(f"{EVENTS}{event.pk}/change/")
    edited = admin_browser.post(f"{EVENTS}{event.pk}/change/", {"kind": "attempt", "data": "{}"})
    deleted = admin_browser.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"})
    bulk = admin_browser.post(
        EVENTS, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )

    assert added.status_code == HTTPStatus.FORBIDDEN
    assert viewed.status_code == HTTPStatus.OK
    assert 'name="_save"' not in viewed.content.decode()
    assert edited.status_code == HTTPStatus.FORBIDDEN
    assert deleted.status_code == HTTPStatus.FORBIDDEN
    assert bulk.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    assert list(LeadEvent.objects.values_list("pk", "kind", "data").order_by("pk")) == before


def test_deleting_a_lead_in_the_admin_takes_its_story_with_it(admin_browser, agent):
    lead = make_lead(agent)
    story(lead)

    response = admin_browser.post(f"{LEADS}{lead.pk}/delete/", {"post": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert not LeadEvent.objects.filter(lead_id=lead.pk).exists()

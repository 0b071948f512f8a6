"""CONTRACT §7 on the desk: a listed lead is marked, never callable, not waiting; the pages."""

from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.test import Client

from leads import services
from leads.calling import lead_list_callable_now
from leads.dnc import dnc_entry_add
from leads.models import DoNotCallEntry
from leads.selectors import lead_waiting_summary
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

# 10:00 in Chicago: calling hours for the factory's leads.
MORNING_UTC = datetime(2025, 1, 15, 16, 0, tzinfo=UTC)


@pytest.fixture
def browser(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(services, "clock", lambda: MORNING_UTC)


def listed(tenant, phone: str, reason: str = "Asked not to be called") -> None:
    dnc_entry_add(tenant=tenant, phone=phone, reason=reason, added_by=tenant)


def test_desk_row_of_a_listed_lead_shows_the_mark_instead_of_a_call_link(browser, agent):
    flagged = make_lead(agent, first_name="Flagged", phone="+12104611180")
    free = make_lead(agent, first_name="Free", phone="+12104611181")
    listed(agent, flagged.phone)

    html = browser.get("/").content.decode()

    flagged_row = html.split(f'data-lead-id="{flagged.pk}"')[1].split("</tr>")[0]
    free_row = html.split(f'data-lead-id="{free.pk}"')[1].split("</tr>")[0]
    assert "Do not call" in flagged_row
    assert "tel:" not in flagged_row and "Call now" not in flagged_row
    assert 'href="tel:+12104611181"' in free_row and "Call now" in free_row


def test_a_listed_lead_is_never_callable_now_nor_waiting(agent):
    flagged = make_lead(agent, phone="+12104611180")
    free = make_lead(agent, phone="+12104611181")
    listed(agent, flagged.phone)

    callable_now = lead_list_callable_now(tenant=agent, now=MORNING_UTC)

    assert list(callable_now) == [free]
    assert lead_waiting_summary(tenant=agent).count == 1


def test_callable_desk_filter_leaves_out_a_listed_lead(browser, agent):
    flagged = make_lead(agent, phone="+12104611180")
    make_lead(agent, phone="+12104611181")
    listed(agent, flagged.phone)

    html = browser.get("/?callable=1").content.decode()

    assert f'data-lead-id="{flagged.pk}"' not in html


def test_lead_page_adds_its_phone_to_do_not_call_with_a_reason(browser, agent):
    lead = make_lead(agent, phone="+12104611180")
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert "Add to do-not-call" in page and 'href="tel:+12104611180"' in page

    answer = browser.post(f"/leads/{lead.pk}/do-not-call", {"reason": "Said stop calling"})

    assert answer.status_code == HTTPStatus.FOUND
    entry = DoNotCallEntry.objects.get(tenant=agent)
    assert (entry.phone, entry.reason, entry.source) == (lead.phone, "Said stop calling", "lead")
    page = browser.get(f"/leads/{lead.pk}/").content.decode()
    assert "Said stop calling" in page and "on your do-not-call list since" in page
    assert 'href="tel:' not in page and "Add to do-not-call" not in page


def test_lead_page_without_a_reason_adds_nothing(browser, agent):
    lead = make_lead(agent, phone="+12104611180")

    browser.post(f"/leads/{lead.pk}/do-not-call", {"reason": ""})

    assert not DoNotCallEntry.objects.exists()
    assert "A reason is required." in browser.get(f"/leads/{lead.pk}/").content.decode()


def test_another_agents_lead_cannot_be_listed_from_its_page(browser, other_agent):
    theirs = make_lead(other_agent, phone="+12104611180")

    answer = browser.post(f"/leads/{theirs.pk}/do-not-call", {"reason": "x"})

    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert not DoNotCallEntry.objects.exists()


def test_dnc_page_lists_adds_and_removes(browser, agent, other_agent):
    listed(other_agent, "+13125550100", "Not mine")

    added = browser.post("/dnc", {"phone": "(210) 461-1180", "reason": "Asked"})
    assert added.status_code == HTTPStatus.FOUND
    page = browser.get("/dnc").content.decode()
    assert "+12104611180" in page and "Asked" in page and "Not mine" not in page
    assert 'href="/dnc"' in page  # the nav links here

    entry = DoNotCallEntry.objects.get(tenant=agent)
    browser.post(f"/dnc/{entry.pk}/remove", {"reason": "Consented again"})

    entry.refresh_from_db()
    assert (entry.removal_reason, entry.removed_by) == ("Consented again", agent)
    assert "+12104611180" not in browser.get("/dnc").content.decode().split("<tbody>")[1]


def test_dnc_page_says_what_is_wrong_with_a_number(browser):
    answer = browser.post("/dnc", {"phone": "not a phone", "reason": "Asked"})

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert "not a valid" in answer.content.decode()
    assert not DoNotCallEntry.objects.exists()


def test_another_agents_entry_cannot_be_removed_from_the_page(browser, other_agent):
    listed(other_agent, "+13125550100")
    entry = DoNotCallEntry.objects.get()

    answer = browser.post(f"/dnc/{entry.pk}/remove", {"reason": "x"})

    assert answer.status_code == HTTPStatus.NOT_FOUND
    entry.refresh_from_db()
    assert entry.removed_at is None

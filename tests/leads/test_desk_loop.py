"""Issue 19, the call-to-next-lead loop, server side: "Save & next lead" follows the desk's filter
and order (leads.selectors.lead_next), and the desk and lead pages are never cached."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone

from leads.selectors import LeadFilters, lead_list, lead_next
from tests.factories import make_agent, make_lead, set_created_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def walk(tenant, filters: LeadFilters) -> list[str]:
    leads = lead_list(tenant=tenant, filters=filters)
    order = []
    current = leads.first()
    while current is not None:
        order.append(current.first_name)
        current = lead_next(leads=leads, filters=filters, after=current)
    return order


def test_next_walks_the_list_in_its_order_whatever_the_sort(agent):
    now = timezone.now()
    for name, last, hours in (
        ("bob", "A", 3),
        ("Alice", "B", 1),
        ("alice", "A", 2),
        ("Carl", "", 4),
    ):
        set_created_at(
            make_lead(agent, first_name=name, last_name=last), now - timedelta(hours=hours)
        )

    for filters in (
        LeadFilters(),
        LeadFilters(sort_by="name", sort_direction="asc"),
        LeadFilters(sort_by="name", sort_direction="desc"),
        LeadFilters(sort_by="state", sort_direction="asc"),  # all equal: id breaks the ties
        LeadFilters(search="ali"),
    ):
        expected = [lead.first_name for lead in lead_list(tenant=agent, filters=filters)]
        assert walk(agent, filters) == expected, filters


def test_next_follows_a_lead_that_no_longer_matches_the_filter(agent):
    now = timezone.now()
    newest = set_created_at(make_lead(agent, state="TX"), now - timedelta(hours=1))
    older = set_created_at(make_lead(agent, state="TX"), now - timedelta(hours=2))
    filters = LeadFilters(states=("TX",))
    newest.state = "FL"
    newest.save()

    assert (
        lead_next(leads=lead_list(tenant=agent, filters=filters), filters=filters, after=newest)
        == older
    )


def test_next_lead_page_keeps_the_desk_query_and_returns_to_the_desk_at_the_end(browser, agent):
    now = timezone.now()
    first = set_created_at(make_lead(agent, state="TX"), now - timedelta(hours=1))
    set_created_at(make_lead(agent, state="FL"), now - timedelta(hours=2))
    last = set_created_at(make_lead(agent, state="TX"), now - timedelta(hours=3))

    answer = browser.get(f"/leads/{first.pk}/next?states=TX&search=")
    assert answer.status_code == HTTPStatus.FOUND
    assert answer["Location"] == f"/leads/{last.pk}?states=TX"
    answer = browser.get(f"/leads/{last.pk}/next?states=TX")
    assert answer["Location"] == "/?states=TX"


def test_next_lead_of_another_tenant_is_not_found(browser):
    stranger = make_lead(make_agent("mallory"))
    assert browser.get(f"/leads/{stranger.pk}/next").status_code == HTTPStatus.NOT_FOUND


def test_a_bad_desk_query_on_next_is_ignored_not_an_error(browser, agent):
    lead = make_lead(agent)
    answer = browser.get(f"/leads/{lead.pk}/next?sortBy=nonsense&limit=-4")
    assert answer.status_code == HTTPStatus.FOUND
    assert answer["Location"] == "/"


def test_desk_and_lead_pages_are_never_cached(browser, agent):
    lead = make_lead(agent)
    for path in ("/", f"/leads/{lead.pk}/"):
        answer = browser.get(path)
        assert answer.status_code == HTTPStatus.OK
        assert "no-store" in answer["Cache-Control"]


def test_the_desk_hands_its_query_to_each_lead_page(browser, agent):
    lead = make_lead(agent, state="TX")
    page = browser.get("/?states=TX&sortBy=name&sortDirection=asc").content.decode()
    assert f'href="/leads/{lead.pk}?states=TX&amp;sortBy=name&amp;sortDirection=asc"' in page
    detail = browser.get(f"/leads/{lead.pk}?states=TX").content.decode()
    assert f'href="/leads/{lead.pk}/next?states=TX"' in detail
    assert 'href="/?states=TX"' in detail

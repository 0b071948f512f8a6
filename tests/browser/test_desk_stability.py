"""Issue 19, a stable desk: nothing moves under the agent's pointer or focus."""

from collections.abc import Iterator
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, expect

from leads.models import Lead
from tests.browser.test_desk import (
    LIVE_WITHIN,
    STEP,
    log_in,
    nextgen_lead,
    post_webhook,
    with_credentials,
)
from tests.factories import make_agent, make_lead, set_created_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BURST = 5


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def lead_under(page, x: float, y: float) -> str | None:
    return page.evaluate(
        "([x, y]) => { const row = document.elementFromPoint(x, y)?.closest('tr');"
        " return row ? row.dataset.leadId : null; }",
        [x, y],
    )


def settled_box(page, locator) -> dict:
    """The locator's box once it stops moving: right after the desk goes live, the page may still
    lay out (seen once on a loaded machine, 2026-12-01: the rows a row lower a moment later)."""
    box = locator.bounding_box()
    for _ in range(20):
        page.wait_for_timeout(250)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    return box


def test_a_burst_while_the_pointer_rests_on_a_row_moves_nothing(context, server_url):
    agent = with_credentials(make_agent("alice"))
    now = timezone.now()
    for minutes in range(6):
        set_created_at(
            make_lead(agent, first_name=f"Resting{minutes}"), now - timedelta(minutes=minutes + 1)
        )
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page
    target = page.locator("#lead-rows tr").nth(2)
    box = settled_box(page, target)
    x, y = box["x"] + 40, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    resting_on = lead_under(page, x, y)
    assert resting_on == target.get_attribute("data-lead-id")

    for n in range(BURST):
        answer = post_webhook(server_url, agent, nextgen_lead(first_name=f"Burst{n}"))
        assert answer.status_code == HTTPStatus.CREATED, answer.text

    # Announced (banner, counts) but held back: the bar counts them, the rows stay put.
    expect(page.locator("#held-show")).to_have_text(f"{BURST} new leads — show", timeout=STEP)
    expect(page.locator(".banner").first).to_be_visible(timeout=LIVE_WITHIN)
    expect(page.locator("#result-count")).to_have_text(f"{6 + BURST} leads")
    expect(page.locator("#lead-rows tr")).to_have_count(6)
    assert lead_under(page, x, y) == resting_on
    assert target.bounding_box()["y"] == box["y"]

    # "Show" brings them in, newest first, and puts focus on the newest.
    page.click("#held-show")
    expect(page.locator("#lead-rows tr")).to_have_count(6 + BURST)
    newest = Lead.objects.filter(tenant=agent).order_by("-created_at", "-id").first()
    expect(page.locator("#lead-rows tr").first).to_have_attribute("data-lead-id", str(newest.pk))
    expect(page.locator("#held-leads")).to_be_hidden()
    expect(page.locator("#lead-rows tr").first.locator(".c-name a")).to_be_focused()
    assert tab.errors == []


def test_leads_held_while_working_the_list_arrive_when_the_pointer_leaves(context, server_url):
    agent = with_credentials(make_agent("alice"))
    make_lead(agent, first_name="Focused")
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page
    page.locator("#lead-rows tr .c-name a").first.focus()

    post_webhook(server_url, agent, nextgen_lead(first_name="Waiting"))

    expect(page.locator("#held-show")).to_have_text("1 new lead — show", timeout=STEP)
    expect(page.locator("#lead-rows tr")).to_have_count(1)
    page.locator("#f-search").focus()  # focus leaves the list, the pointer is elsewhere
    expect(page.locator("#lead-rows tr")).to_have_count(2)
    expect(page.locator("#lead-rows tr").first).to_contain_text("Waiting")
    expect(page.locator("#held-leads")).to_be_hidden()


def test_a_long_name_is_cut_and_the_call_column_stays_in_view(context, server_url):
    agent = make_agent("alice")
    junk = '=HYPERLINK("http://example.com/' + "x" * 50 + '","Click me")'
    make_lead(agent, first_name=junk, last_name="Vendor", email="long" * 20 + "@example.com")
    tab = log_in(context, server_url, "alice")
    page = tab.page

    name = page.locator("#lead-rows tr .c-name a")
    expect(name).to_have_attribute("title", f"{junk} Vendor")
    call = page.locator("#lead-rows tr .c-call")
    box = call.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280
    assert (
        page.evaluate("document.querySelector('#lead-rows .c-call').getBoundingClientRect().right")
        <= 1280
    )
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280

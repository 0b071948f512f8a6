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
    # An agent outside UTC: times the server writes in UTC are said again in the browser's zone.
    context = chromium.new_context(
        base_url=server_url,
        viewport={"width": 1280, "height": 800},
        timezone_id="America/Chicago",
    )
    yield context
    context.close()


def lead_under(page, x: float, y: float) -> str | None:
    return page.evaluate(
        "([x, y]) => { const row = document.elementFromPoint(x, y)?.closest('tr');"
        " return row ? row.dataset.leadId : null; }",
        [x, y],
    )


# Every layout shift of the page (the Layout Instability API), but those right after input.
LAYOUT_SHIFTS = """
window.layoutShifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.hadRecentInput) continue;
    const moved = entry.sources.map(
      ({ node }) => (node ? node.id || node.className || node.nodeName : ""),
    );
    window.layoutShifts.push({ value: entry.value, at: Math.round(entry.startTime), moved });
  }
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.mark.parametrize("due", [0, 2], ids=["nothing-due", "follow-ups-due"])
def test_nothing_on_the_desk_moves_once_it_has_loaded(context, server_url, due):
    """Seen in CI (2026-12-01): the due follow-ups, filled in once the page had loaded, pushed
    the rows a row lower under the agent's pointer; the live status's text moved the header."""
    context.add_init_script(LAYOUT_SHIFTS)
    agent = make_agent("alice")
    now = timezone.now()
    for minutes in range(6):
        set_created_at(
            make_lead(agent, first_name=f"Resting{minutes}"), now - timedelta(minutes=minutes + 1)
        )
    for number in range(due):
        make_lead(agent, first_name=f"Due{number}", next_follow_up_at=now - timedelta(minutes=5))
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page
    expect(page.locator("#follow-ups-due-list li")).to_have_count(due)
    page.wait_for_load_state("networkidle")  # the list's own refresh has come and gone
    page.wait_for_timeout(500)
    assert page.evaluate("window.layoutShifts") == []
    assert tab.errors == []


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
    box = target.bounding_box()
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


@pytest.mark.parametrize("page_path", ["lead", "/imports/", "/integrations/nextgen", "/dnc/"])
def test_no_other_page_moves_once_it_has_loaded(context, server_url, page_path):
    """The header's "new leads waiting" counter was filled in after load on every page but the
    desk and the lead page, which moved the navigation beside it (found by the test above's
    sibling, 2026-12-01)."""
    context.add_init_script(LAYOUT_SHIFTS)
    agent = make_agent("alice")
    lead = make_lead(agent, first_name="Only", next_follow_up_at=timezone.now())
    tab = log_in(context, server_url, "alice")
    page = tab.page
    page.goto(f"/leads/{lead.pk}/" if page_path == "lead" else page_path)
    tab.wait_live()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    assert page.evaluate("window.layoutShifts") == []
    assert tab.errors == []

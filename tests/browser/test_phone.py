"""Issue 19, a phone-sized desk (390×844): no page wider than the screen, the leads on the first
screen, the lead's primary actions within reach, and tap targets of at least 44 px."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from imports.models import ImportJob
from leads.models import Disposition
from tests.browser.test_desk import STEP, log_in, with_credentials
from tests.factories import make_agent, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TAP = 44
# Controls a thumb presses; links inside sentences are exempt (WCAG 2.5.8's inline exception).
CONTROLS = (
    "header a, header button, main button, main .button, main select, label.check,"
    " main input:not([type=hidden]):not([type=checkbox]):not([type=radio]),"
    " #leads-table .c-name a, #leads-table .c-phone a, .chip-choice .chip, .crumbs a, a.call"
)


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(
        base_url=server_url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    yield context
    context.close()


def too_small(page) -> list[str]:
    return page.evaluate(
        """([selector, tap]) => [...document.querySelectorAll(selector)]
          .filter((node) => node.getClientRects().length)
          .filter((node) => getComputedStyle(node).visibility !== "hidden")
          .filter((node) => !node.closest(".visually-hidden") && !node.matches(".visually-hidden"))
          .map((node) => [node, node.getBoundingClientRect()])
          .filter(([, box]) => box.height < tap || box.width < 24)
          .map(([node, box]) => `${node.tagName.toLowerCase()}#${node.id}.${node.className} `
            + `"${node.textContent.trim().slice(0, 20)}" `
            + `${Math.round(box.width)}×${Math.round(box.height)}`)""",
        [CONTROLS, TAP],
    )


def escaping(page) -> list[str]:
    """The innermost elements that reach past the screen's right edge (what to fix)."""
    return page.evaluate(
        """(width) => {
          const past = (node) => node.getBoundingClientRect().right > width + 1;
          return [...document.querySelectorAll("body *")]
            .filter((node) => past(node) && ![...node.children].some(past))
            .slice(0, 8)
            .map((node) => `${node.tagName.toLowerCase()}.${node.className} `
              + Math.round(node.getBoundingClientRect().right));
        }""",
        PHONE["width"],
    )


def test_no_page_is_wider_than_the_phone(context, server_url):
    agent = with_credentials(make_agent("alice"))
    lead = make_lead(agent, first_name='=HYPERLINK("http://example.com/' + "x" * 50 + '")')
    ImportJob.objects.create(
        tenant=agent, file_name="a-very-long-file-name-" * 5 + ".csv", file_size=9
    )
    wide = {}
    anonymous = context.new_page()
    for path in ("/accounts/login/", "/accounts/signup/"):
        anonymous.goto(server_url + path)
        if anonymous.evaluate("document.scrollingElement.scrollWidth") > PHONE["width"]:
            wide[path] = escaping(anonymous)
    anonymous.close()
    tab = log_in(context, server_url, "alice")
    for path in (
        "/",
        f"/leads/{lead.pk}/",
        "/imports",
        "/integrations/nextgen",
        "/dnc",
        "/api/docs/",
    ):
        page = tab.goto(path)
        page.wait_for_load_state("networkidle")
        if page.evaluate("document.scrollingElement.scrollWidth") > PHONE["width"]:
            wide[path] = escaping(page)

    assert wide == {}


def test_the_leads_are_on_the_first_screen_and_every_control_is_thumb_sized(context, server_url):
    agent = make_agent("alice")
    for n in range(3):
        make_lead(agent, first_name=f"Phone{n}")
    tab = log_in(context, server_url, "alice")
    page = tab.page

    first = page.locator("#lead-rows tr").first.bounding_box()
    assert first["y"] + first["height"] <= PHONE["height"]
    assert too_small(page) == []
    # The other filters fold away and open on demand.
    expect(page.locator("#f-states")).to_be_hidden()
    page.click("#more-filters")
    expect(page.locator("#f-states")).to_be_visible()
    expect(page.locator("#more-filters")).to_have_attribute("aria-expanded", "true")
    assert too_small(page) == []


def test_the_lead_page_puts_call_disposition_and_save_within_reach(context, server_url):
    agent = make_agent("alice")
    for order, name in enumerate(("Hung Up", "Quoted", "SOLD", "No Contact", "Ghosted")):
        Disposition.objects.create(tenant=agent, name=name, order=order)
    lead = make_lead(agent, first_name="Thumb", notes="")
    tab = log_in(context, server_url, "alice")
    page = tab.goto(f"/leads/{lead.pk}/")

    for control in ("a.call", "#save-next", "#status", ".chip-choice >> nth=1"):
        box = page.locator(control).bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], control
    assert too_small(page) == []
    # Typing notes: "Save notes" stays on screen while the form is in view.
    page.locator("#notes").scroll_into_view_if_needed()
    page.locator("#notes").fill("From the phone")
    box = page.locator("#save-notes").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    page.locator("#save-notes").tap()
    expect(page.locator("#save-state")).to_have_text("Notes saved ✓", timeout=STEP)

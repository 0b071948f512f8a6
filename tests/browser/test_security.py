"""In a real Chromium: the Content-Security-Policy breaks no page, and a session's end reaches
every tab (docs/security.md)."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.factories import PASSWORD, make_agent, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEP = 10_000  # ms: a ceiling for each expected step, not a measured delay
# Collected outside the page's policy (an init script), so a blocked script cannot hide them.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server_url, viewport={"width": 1366, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


def watched(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"), timeout=STEP)


def wait_live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=STEP)


def test_no_page_breaks_the_content_security_policy(context, server_url):
    admin = make_agent("root", is_admin=True)
    lead = make_lead(admin, first_name="Policy", last_name="Checked")
    page = context.new_page()
    errors = watched(page)
    page.goto("/accounts/login/")
    log_in(page, "root")

    for path, ready in [
        ("/", "#lead-rows tr"),
        (f"/leads/{lead.pk}/", ".chip"),
        ("/imports/", "main"),
        ("/admin/", "#content"),
        (f"/admin/leads/lead/{lead.pk}/change/", "#content-main form"),
        ("/api/docs", ".swagger-ui .info"),
    ]:
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible(timeout=STEP)
        if path == "/":
            wait_live(page)
        assert page.evaluate("window.__cspViolations") == [], path
        assert errors == [], path
    # The chips' colours still arrive (set from data attributes, not inline styles).
    page.goto("/")
    page.goto(f"/leads/{lead.pk}/")
    colour = page.locator(".chip").first.evaluate("c => c.style.getPropertyValue('--chip')")
    assert colour.strip()
    assert errors == []


def test_logging_out_in_one_tab_sends_the_other_tab_to_the_login_page(context, server_url):
    make_agent("alice")
    desk = context.new_page()
    log_in(desk, "alice")
    wait_live(desk)
    other = context.new_page()
    other.goto("/?status=New")
    wait_live(other)

    desk.get_by_role("button", name="Log out").click()

    expect(desk).to_have_url(re.compile(r"/accounts/login/"), timeout=STEP)
    expect(other).to_have_url(
        re.compile(r"/accounts/login/\?next=%2F%3Fstatus%3DNew$"), timeout=STEP
    )

"""Issue 19, WCAG 2.2 AA: axe-core (tests/browser/vendor) on every page at desktop and phone
sizes finds no serious or critical violation; announcements are polite, summarised and only
made on real change."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from imports.models import ImportJob
from leads.models import Disposition
from tests.browser.test_desk import (
    LIVE_WITHIN,
    STEP,
    Tab,
    nextgen_lead,
    post_webhook,
    with_credentials,
)
from tests.factories import PASSWORD, make_agent, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# The default dispositions' colours (leads/migrations/0002), the light ones included.
CHIP_COLOURS = (
    "#16a34a",
    "#dc2626",
    "#0891b2",
    "#a16207",
    "#7c3aed",
    "#db2777",
    "#0d9488",
    "#2563eb",
    "#15803d",
    "#9333ea",
    "#64748b",
    "#475569",
    "#ea580c",
    "#6b7280",
    "#94a3b8",
)


def serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def signed_in_pages(tenant) -> dict[str, str]:
    for order, colour in enumerate(CHIP_COLOURS):
        Disposition.objects.create(
            tenant=tenant, name=f"Outcome {order}", color=colour, order=order
        )
    lead = make_lead(tenant, first_name="Axe", last_name="Checked", disposition="Outcome 14")
    make_lead(tenant, first_name="Second", disposition="Outcome 12", notes="Some notes")
    ImportJob.objects.create(tenant=tenant, file_name="people.csv", file_size=120, status="done")
    return {
        "desk": "/",
        "lead page": f"/leads/{lead.pk}/",
        "import": "/imports",
        "integration": "/integrations/nextgen",
        "do not call": "/dnc",
        "api docs": "/api/docs/",
    }


@pytest.fixture(params=list(SIZES))
def size(request) -> str:
    return request.param


@pytest.fixture
def browser_page(chromium: Browser, server_url: str, size: str) -> Iterator[Tab]:
    # axe is injected as a script of its own, which the pages' Content-Security-Policy forbids.
    context = chromium.new_context(base_url=server_url, viewport=SIZES[size], bypass_csp=True)
    yield Tab(context, server_url)
    context.close()


def sign_in(tab: Tab) -> None:
    page = tab.goto("/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(tab.base_url + "/", timeout=STEP)


def test_every_page_passes_axe(browser_page, size):
    tenant = with_credentials(make_agent("alice"))
    tab = browser_page
    found = {"log in": serious_violations(tab.goto("/accounts/login/"))}
    sign_in(tab)
    for name, path in signed_in_pages(tenant).items():
        page = tab.goto(path)
        page.wait_for_load_state("networkidle")
        found[name] = serious_violations(page)
    # The integration page with a fresh key and its curl example.
    page = tab.goto("/integrations/nextgen")
    create = page.get_by_text("Create credentials")
    if create.count():
        create.click()
        found["integration with a key"] = serious_violations(page)
    # The lead page with its shortcut list open.
    page = tab.goto(signed_in_pages_path(tenant))
    page.keyboard.press("?")
    expect(page.locator("#shortcuts-help")).to_be_visible()
    found["shortcut list"] = serious_violations(page)

    assert {name: issues for name, issues in found.items() if issues} == {}, size


def signed_in_pages_path(tenant) -> str:
    return f"/leads/{tenant.leads.order_by('id').first().pk}/"


def test_a_burst_is_one_polite_summary_and_the_waiting_count_is_not_a_live_region(
    chromium, server_url
):
    agent = with_credentials(make_agent("alice"))
    context = chromium.new_context(base_url=server_url, viewport=SIZES["desktop"])
    try:
        tab = Tab(context, server_url)
        sign_in(tab)
        tab.wait_live()
        page = tab.page
        page.evaluate(
            """() => {
              window.spoken = [];
              const live = '[aria-live], [role=status], [role=alert], [role=log]';
              new MutationObserver((changes) => {
                for (const change of changes) {
                  const node = change.target;
                  const region = (node.nodeType === 1 ? node : node.parentElement).closest(live);
                  const text = region ? region.textContent.trim() : "";
                  if (text) window.spoken.push(text);
                }
              }).observe(document.body, {childList: true, characterData: true, subtree: true});
            }"""
        )
        for n in range(3):
            post_webhook(server_url, agent, nextgen_lead(first_name=f"Burst{n}"))

        expect(page.locator("#lead-announcer")).to_have_text("3 new leads", timeout=STEP)
        expect(page.locator(".banner")).to_have_count(3, timeout=LIVE_WITHIN)
        expect(page.locator("#waiting-count")).to_have_text("3", timeout=STEP)
        # Nothing assertive anywhere; the one live sentence is the summary.
        assert page.locator("[aria-live=assertive], [role=alert]").count() == 0
        assert page.evaluate("window.spoken") == ["3 new leads"]
        # The header's waiting count refreshes its age silently.
        assert page.locator("#speed-to-lead[aria-live], #speed-to-lead [aria-live]").count() == 0
        # The sound toggle is named "Sound", its state aria-pressed: no "Sound off, not pressed".
        toggle = page.get_by_role("button", name="Sound", exact=True)
        expect(toggle).to_have_attribute("aria-pressed", "true")
        assert tab.errors == []
    finally:
        context.close()


def test_the_keyboard_focus_ring_is_solid_and_contrasts_three_to_one(chromium, server_url):
    make_agent("alice")
    context = chromium.new_context(base_url=server_url, viewport=SIZES["desktop"])
    try:
        tab = Tab(context, server_url)
        sign_in(tab)
        page = tab.page
        for _ in range(3):
            page.keyboard.press("Tab")
            ring = page.evaluate(
                """() => {
                  const style = getComputedStyle(document.activeElement);
                  return [style.outlineStyle, parseFloat(style.outlineWidth), style.outlineColor];
                }"""
            )
            assert ring[0] == "solid" and ring[1] >= 2, ring
            # #065f46 on the white page: 7.6:1 (WCAG 2.4.13 asks 3:1).
            assert ring[2] in ("rgb(6, 95, 70)", "rgb(255, 255, 255)"), ring
    finally:
        context.close()

"""The dashboard in a real Chromium against a real server process (Issue 6)."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from leads import services
from leads.models import InvitePasscode, Lead
from tests.browser.conftest import celery_worker, server_env
from tests.factories import PASSWORD, make_agent, make_disposition, make_lead
from tests.helpers import nextgen_body
from tests.server import live_server
from webhooks.services import nextgen_credential_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEBHOOK_FIXTURES = Path(__file__).parents[1] / "webhooks" / "fixtures"
STEP = 10_000  # ms: a ceiling for each expected step, not a measured delay
LIVE_WITHIN = 1_000  # ms: the issue's "without reload within 1 s"


class Tab:
    """A page that records console errors, so every test can assert there were none."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def wait_live(self) -> None:
        expect(self.page.locator("#live-status")).to_have_attribute(
            "data-state", "live", timeout=STEP
        )


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server_url, viewport={"width": 1366, "height": 900})
    yield context
    context.close()


def log_in(context: BrowserContext, base_url: str, username: str) -> Tab:
    tab = Tab(context, base_url)
    page = tab.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/", timeout=STEP)
    return tab


def nextgen_lead(**overrides: Any) -> dict[str, Any]:
    body = nextgen_body()
    number = uuid.uuid4().int % 10_000
    body.update(
        lead_id=f"NG-BROWSER-{uuid.uuid4().hex[:10]}",
        phone=f"(210) 555-{number:04d}",
        email=f"browser.{number}@example.com",
    )
    return {**body, **overrides}


def post_webhook(base_url: str, tenant: Any, body: dict[str, Any]) -> httpx.Response:
    credential = tenant.nextgen_credentials.filter(is_active=True).first()
    headers = {"sid": credential.sid, "apikey": tenant.api_key}
    return httpx.post(f"{base_url}/api/webhooks/nextgen", json=body, headers=headers, timeout=10)


def with_credentials(tenant: Any) -> Any:
    _credential, tenant.api_key = nextgen_credential_issue(tenant=tenant)
    return tenant


# --- Log in, land on the desk ---------------------------------------------------------------------


def test_log_in_and_land_on_the_live_desk(context, server_url):
    agent = make_agent("alice")
    make_lead(agent, first_name="Existing", last_name="Lead")

    tab = log_in(context, server_url, "alice")

    page = tab.page
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    expect(page.locator("#lead-rows tr")).to_have_count(1)
    expect(page.locator("#lead-rows")).to_contain_text("Existing Lead")
    expect(page.locator("#speed-to-lead")).to_contain_text("1 new lead waiting")
    tab.wait_live()
    assert tab.errors == []


# --- Live intake ----------------------------------------------------------------------------------


def test_a_webhook_lead_appears_with_its_banner_without_reload(context, server_url):
    agent = with_credentials(make_agent("alice"))
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page

    answer = post_webhook(server_url, agent, nextgen_lead(first_name="Rosa", last_name="Live"))

    assert answer.status_code == HTTPStatus.CREATED, answer.text
    lead = Lead.objects.get(pk=answer.json()["leadId"])
    row = page.locator(f'#lead-rows tr[data-lead-id="{lead.pk}"]')
    expect(row).to_be_visible(timeout=LIVE_WITHIN)
    expect(page.locator("#lead-rows tr").first).to_have_attribute("data-lead-id", str(lead.pk))
    banner = page.locator(".banner").first
    expect(banner).to_be_visible(timeout=LIVE_WITHIN)
    expect(banner).to_contain_text("New NextGen Lead!")
    expect(banner).to_contain_text("Rosa Live")
    expect(banner.locator(f'a[href="tel:{lead.phone}"]')).to_be_visible()
    expect(row.locator(f'a[href="tel:{lead.phone}"]')).to_be_visible()
    expect(page.locator("#waiting-count")).to_have_text("1", timeout=STEP)

    # The same lead again: the row is updated in place, never doubled.
    post_webhook(server_url, agent, nextgen_lead(lead_id=lead.nextgen_id, phone=lead.phone))
    page.wait_for_timeout(300)
    expect(page.locator(f'#lead-rows tr[data-lead-id="{lead.pk}"]')).to_have_count(1)
    assert tab.errors == []


def test_sound_toggle_is_remembered(context, server_url):
    make_agent("alice")
    tab = log_in(context, server_url, "alice")
    page = tab.page
    toggle = page.locator("#sound-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    tab.wait_live()  # the page's script is running: a click now reaches its handler

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.reload()

    expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#sound-toggle")).to_have_text("Sound off")
    assert page.evaluate("localStorage.getItem('crokodial.sound')") == "off"


def test_a_stub_row_is_replaced_by_its_lead_not_duplicated(chromium, django_db_blocker):
    """Fast path: the stub shows at once and the stored lead takes its place.

    With Redis the worker is started only after the stub is on screen, so both steps are seen;
    without Redis the task runs inside the request and the lead's event overtakes its stub,
    which must then not add a row.
    """
    agent = with_credentials(make_agent("alice"))
    env = server_env(USE_FAST_PATH="1")
    with live_server(env) as url:
        context = chromium.new_context(base_url=url)
        try:
            tab = log_in(context, url, "alice")
            tab.wait_live()
            page = tab.page

            answer = post_webhook(url, agent, nextgen_lead(first_name="Stubby", last_name="Row"))
            assert answer.status_code == HTTPStatus.ACCEPTED, answer.text

            if settings.REDIS_URL:
                stub = page.locator("#lead-rows tr.stub")
                expect(stub).to_have_count(1, timeout=LIVE_WITHIN)
                expect(stub).to_contain_text("Stubby Row")
                with celery_worker(env):
                    expect(page.locator("#lead-rows tr[data-lead-id]")).to_have_count(
                        1, timeout=STEP
                    )
            else:
                expect(page.locator("#lead-rows tr[data-lead-id]")).to_have_count(
                    1, timeout=LIVE_WITHIN
                )
            page.wait_for_timeout(300)
            lead = Lead.objects.get(tenant=agent)
            expect(page.locator("#lead-rows tr")).to_have_count(1)
            expect(page.locator("#lead-rows tr.stub")).to_have_count(0)
            expect(page.locator("#lead-rows tr").first).to_have_attribute(
                "data-lead-id", str(lead.pk)
            )
            expect(page.locator("#lead-rows tr").first).to_contain_text("Stubby Row")
            assert tab.errors == []
        finally:
            context.close()


def test_another_agent_never_sees_the_first_agents_lead(chromium, server_url):
    alice = with_credentials(make_agent("alice"))
    make_agent("bob")
    alice_context = chromium.new_context(base_url=server_url)
    bob_context = chromium.new_context(base_url=server_url)
    try:
        alice_tab = log_in(alice_context, server_url, "alice")
        bob_tab = log_in(bob_context, server_url, "bob")
        alice_tab.wait_live()
        bob_tab.wait_live()

        answer = post_webhook(
            server_url, alice, nextgen_lead(first_name="Private", last_name="Lead")
        )
        lead_id = answer.json()["leadId"]

        expect(alice_tab.page.locator(f'tr[data-lead-id="{lead_id}"]')).to_be_visible(
            timeout=LIVE_WITHIN
        )
        bob_tab.page.wait_for_timeout(500)
        expect(bob_tab.page.locator("#lead-rows tr")).to_have_count(0)
        expect(bob_tab.page.locator(".banner")).to_have_count(0)
        bob_tab.page.reload()
        expect(bob_tab.page.locator("#lead-rows tr")).to_have_count(0)
        assert bob_tab.goto(f"/leads/{lead_id}/").content().count("Private Lead") == 0
        assert alice_tab.errors == []
    finally:
        alice_context.close()
        bob_context.close()


# --- Lead detail ----------------------------------------------------------------------------------


def test_notes_and_disposition_persist_and_reach_other_tabs(context, server_url):
    agent = make_agent("alice")
    make_disposition("Callback", tenant=agent)
    lead = make_lead(agent, first_name="Edith", last_name="Edits", notes="first note")
    tab = log_in(context, server_url, "alice")
    desk = tab.page
    tab.wait_live()
    detail = Tab(context, server_url)
    page = detail.goto(f"/leads/{lead.pk}/")
    detail.wait_live()

    page.fill("#notes", "Prefers mornings")
    page.click("#save-notes")
    expect(page.locator("#save-state")).to_have_text("Notes saved ✓", timeout=STEP)
    page.get_by_text("Callback").click()
    expect(page.locator("#save-state")).to_have_text("Disposition saved ✓", timeout=STEP)
    page.select_option("#status", "Contacted")
    expect(page.locator("#save-state")).to_have_text("Status saved ✓", timeout=STEP)

    # The desk in the other tab hears lead_updated.
    row = desk.locator(f'tr[data-lead-id="{lead.pk}"]')
    expect(row.locator(".c-disposition")).to_contain_text("Callback", timeout=STEP)
    expect(row.locator(".c-status")).to_have_text("Contacted")

    page.reload()
    expect(page.locator("#notes")).to_have_value("Prefers mornings")
    expect(page.locator('input[name=disposition][value="Callback"]')).to_be_checked()
    expect(page.locator("#status")).to_have_value("Contacted")

    page.fill("#notes", "")
    page.click("#save-notes")
    expect(page.locator("#save-state")).to_have_text("Notes saved ✓", timeout=STEP)
    page.reload()
    expect(page.locator("#notes")).to_have_value("")
    lead.refresh_from_db()
    assert (lead.notes, lead.disposition, lead.status) == ("", "Callback", "Contacted")
    assert tab.errors == [] and detail.errors == []


# --- Import ---------------------------------------------------------------------------------------


def test_an_import_through_the_page_shows_progress_summary_then_rows(context, server_url, tmp_path):
    make_agent("alice")
    rows = [f"Imported,Person{n},(512) 555-{n:04d},imported{n}@example.com,TX" for n in range(25)]
    rows.append("No,Contact,,,TX")
    csv = tmp_path / "people.csv"
    csv.write_text("First Name,Last Name,Phone,Email,State\n" + "\n".join(rows) + "\n")
    tab = log_in(context, server_url, "alice")
    page = tab.goto("/imports")
    tab.wait_live()
    page.evaluate(
        """() => {
          const phase = document.getElementById("import-phase");
          window.phases = [];
          new MutationObserver(() => window.phases.push(phase.textContent))
            .observe(phase, {childList: true, characterData: true, subtree: true});
        }"""
    )

    worker = celery_worker(server_env()) if settings.REDIS_URL else None
    if worker:
        worker.__enter__()
    try:
        page.set_input_files("#import-file", str(csv))
        # The file is previewed first (CONTRACT §6); its columns are recognised: run it as is.
        page.click("#import-run")
        summary = page.locator("#import-summary")
        expect(summary).to_be_visible(timeout=STEP * 3)
    finally:
        if worker:
            worker.__exit__(None, None, None)

    assert "Uploading…" in page.evaluate("window.phases")
    expect(page.locator("#import-phase")).to_have_text("Finished")
    expect(page.locator("#sum-imported")).to_have_text("25")
    expect(page.locator("#sum-failed")).to_have_text("1")
    expect(page.locator("#sum-errors")).to_be_visible()
    expect(page.locator("#import-history tbody tr")).to_have_count(1)
    expect(page.locator("#import-history tbody")).to_contain_text("people.csv")

    page.click("#sum-leads")
    expect(page).to_have_url(server_url + "/")
    expect(page.locator("#lead-rows tr")).to_have_count(25)
    expect(page.locator("#lead-rows")).to_contain_text("Imported Person24")
    assert tab.errors == []


# --- Integration ----------------------------------------------------------------------------------


def test_integration_page_creates_and_rotates_credentials(context, server_url):
    make_agent("alice")
    tab = log_in(context, server_url, "alice")
    page = tab.goto("/integrations/nextgen")

    page.click("text=Create credentials")
    key = page.locator("#api-key").text_content()
    expect(page.locator("#curl-example")).to_contain_text(key)
    page.reload()
    expect(page.locator("#api-key")).to_have_count(0)

    page.check("input[name=confirm]")
    page.click("text=Rotate credentials")
    new_key = page.locator("#api-key").text_content()
    assert new_key and new_key != key
    assert tab.errors == []


# --- Sign-up --------------------------------------------------------------------------------------


def sign_up(context: BrowserContext, base_url: str, code: str, username: str) -> Page:
    tab = Tab(context, base_url)
    page = tab.goto("/accounts/signup/")
    page.fill("#id_code", code)
    page.fill("#id_username", username)
    page.fill("#id_password1", "a-long-unusual-passphrase")
    page.fill("#id_password2", "a-long-unusual-passphrase")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_sign_up_with_valid_expired_and_used_up_passcodes(chromium, server_url):
    services.signup_failures_clear(client="127.0.0.1")
    now = timezone.now()
    InvitePasscode.objects.create(code="VALIDCODE", max_uses=5)
    InvitePasscode.objects.create(code="EXPIREDCODE", expires_at=now - timedelta(hours=1))
    InvitePasscode.objects.create(code="USEDUPCODE", max_uses=1, uses=1)

    for code, username, message in (
        ("EXPIREDCODE", "late", "This passcode has expired."),
        ("USEDUPCODE", "tardy", "This passcode has been used up."),
    ):
        context = chromium.new_context()
        try:
            page = sign_up(context, server_url, code, username)
            expect(page.locator(".field-error")).to_have_text(message)
        finally:
            context.close()

    context = chromium.new_context()
    try:
        page = sign_up(context, server_url, "validcode", "newbie")
        expect(page).to_have_url(server_url + "/")
        expect(page.locator(".who")).to_have_text("newbie")
    finally:
        context.close()
    assert InvitePasscode.objects.get(code="VALIDCODE").uses == 1
    assert not Lead.objects.exists()
    services.signup_failures_clear(client="127.0.0.1")

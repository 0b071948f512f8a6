"""CONTRACT §7 in a real Chromium: "Add to do-not-call" on a lead marks its row on the open desk."""

import pytest
from playwright.sync_api import expect

from leads.models import DoNotCallEntry
from tests.browser import test_desk
from tests.browser.test_desk import STEP, Tab, log_in
from tests.factories import make_agent, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

context = test_desk.context


def test_add_to_do_not_call_on_the_lead_page_marks_the_desk_row(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, first_name="Stop", last_name="Calling", phone="+12104611180")
    desk_tab = log_in(context, server_url, "alice")
    desk = desk_tab.page
    desk_tab.wait_live()
    row = desk.locator(f'tr[data-lead-id="{lead.pk}"]')
    expect(row.locator('.c-phone a[href="tel:+12104611180"]')).to_have_count(1)

    detail = Tab(context, server_url)
    page = detail.goto(f"/leads/{lead.pk}/")
    page.fill("#dnc-reason", "Asked us to stop calling")
    page.click("#dnc-add")

    expect(page.locator("#dnc-listed")).to_contain_text("Asked us to stop calling", timeout=STEP)
    expect(page.locator(".lead-head .dnc-mark")).to_have_text("Do not call")
    expect(page.locator('a[href^="tel:"]')).to_have_count(0)
    # The open desk hears lead_updated: the call link gives way to the mark, without a reload.
    expect(row.locator(".c-call")).to_have_text("Do not call", timeout=STEP)
    expect(row.locator('.c-phone a[href^="tel:"]')).to_have_count(0)
    desk.reload()
    expect(row.locator(".c-call")).to_have_text("Do not call")
    assert DoNotCallEntry.objects.get(tenant=agent).source == "lead"
    assert desk_tab.errors == [] and detail.errors == []

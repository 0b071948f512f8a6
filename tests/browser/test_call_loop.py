"""The call loop in a real Chromium against a real server process (CONTRACT §9, issue 18)."""

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, expect

from leads.followups import follow_ups_due_notify
from leads.models import CallAttempt, Lead
from tests.browser.conftest import celery_worker, server_env
from tests.browser.test_desk import STEP, Tab, log_in
from tests.factories import make_agent, make_lead
from tests.helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server_url, viewport={"width": 1366, "height": 900})
    yield context
    context.close()


def zone_at_local_hour(hour: int) -> str:
    """A fixed-offset zone where it is now `hour` o'clock (Etc/GMT-N is N hours east)."""
    now = timezone.now()
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
        if now.astimezone(ZoneInfo(name)).hour == hour:
            return name
    raise AssertionError(f"no zone at {hour}:00")


def lead_page(tab: Tab, lead: Lead):
    page = tab.goto(f"/leads/{lead.pk}/")
    tab.wait_live()
    return page


def test_clicking_call_records_an_attempt_and_the_page_takes_its_outcome(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, first_name="Callable", state="", time_zone=zone_at_local_hour(12))
    tab = log_in(context, server_url, "alice")
    page = lead_page(tab, lead)
    expect(page.locator("#no-attempts")).to_be_visible()

    # The link dials after the attempt is recorded; the tel: navigation itself goes nowhere here.
    page.locator(f'a[data-call-lead="{lead.pk}"]').first.click()

    assert wait_for(lambda: CallAttempt.objects.filter(lead=lead).exists(), timeout=STEP / 1000)
    attempt = CallAttempt.objects.get(lead=lead)
    form = page.locator("#last-attempt-form")
    expect(form).to_be_visible(timeout=STEP)
    expect(form).to_have_attribute("data-attempt-id", str(attempt.pk))
    # The outcome in a fresh tab: in the one that followed the tel: link, Chromium may ignore
    # clicks on inputs. The server renders the same form for the last attempt.
    page = lead_page(Tab(context, server_url), lead)
    expect(page.locator("#last-attempt-form")).to_have_attribute("data-attempt-id", str(attempt.pk))
    page.select_option("#attempt-outcome", "voicemail")
    page.fill("#attempt-note", "left a message, call after 5")
    page.click("#attempt-save")
    expect(page.locator("#attempt-state")).to_have_text("Call note saved ✓", timeout=STEP)
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.note) == ("voicemail", "left a message, call after 5")
    assert Lead.objects.get(pk=lead.pk).attempts_total == 1


def without_age(html: str) -> str:
    return re.sub(r">[^<]*</time>", "></time>", html)


def test_calling_from_the_desk_shows_the_attempt_on_the_row_live_and_after_reload(
    context, server_url
):
    agent = make_agent("alice")
    lead = make_lead(agent, first_name="Deskcall", state="", time_zone=zone_at_local_hour(12))
    make_lead(agent, first_name="Untried", state="", time_zone=zone_at_local_hour(12))
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page
    row = page.locator(f'tr[data-lead-id="{lead.pk}"]')
    expect(page.locator("th.c-attempts")).to_have_text("Attempts")
    expect(row.locator(".c-attempts")).to_have_text("Never tried")

    row.locator(f'a[data-call-lead="{lead.pk}"]').click()

    cell = page.locator(f'tr[data-lead-id="{lead.pk}"] .c-attempts')
    expect(cell).to_have_text(re.compile(r"^1 call · (just now|\d+ min ago)$"), timeout=STEP)
    at = Lead.objects.get(pk=lead.pk).last_attempt_at.astimezone(ZoneInfo("UTC"))
    expect(cell.locator("time")).to_have_attribute("title", f"Last call {at:%Y-%m-%d %H:%M} UTC")
    live = cell.inner_html()
    # The server renders the same cell as the live row (templates/leads/_lead_row.html); only
    # the age may have moved on meanwhile. Read in a fresh tab: the one that followed the tel:
    # link may abort its next navigation or ignore clicks on inputs (headless Chromium).
    tab = Tab(context, server_url)
    page = tab.goto("/")
    tab.wait_live()
    cell = page.locator(f'tr[data-lead-id="{lead.pk}"] .c-attempts')
    expect(cell).to_have_text(re.compile(r"^1 call · "))
    assert without_age(cell.inner_html()) == without_age(live)

    page.check("#f-never-tried")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]attempts=0(&|$)"), timeout=STEP)
    expect(page.locator("tr[data-lead-id]")).to_have_count(1)
    expect(page.locator("tr[data-lead-id] .c-name")).to_contain_text("Untried")
    assert tab.errors == []


def test_a_quick_pick_sets_a_follow_up_inside_the_window(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, state="", time_zone=zone_at_local_hour(12))
    tab = log_in(context, server_url, "alice")
    page = lead_page(tab, lead)

    page.get_by_role("button", name="In an hour").click()

    expect(page.locator("#follow-up-state")).to_contain_text("Follow-up set", timeout=STEP)
    expect(page.locator("#follow-up-clear")).to_be_visible()
    lead.refresh_from_db()
    assert timedelta(minutes=55) < lead.next_follow_up_at - timezone.now() <= timedelta(hours=1)
    assert [event.kind for event in lead.events.all()] == ["follow_up_set"]


def test_a_quick_pick_outside_the_window_is_refused_with_the_next_legal_time(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, state="", time_zone=zone_at_local_hour(3))
    tab = log_in(context, server_url, "alice")
    page = lead_page(tab, lead)

    page.get_by_role("button", name="In 15 minutes").click()

    state = page.locator("#follow-up-state")
    expect(state).to_contain_text("Not set: Outside the lead's calling hours", timeout=STEP)
    expect(state).to_contain_text("The next allowed time is")
    next_legal = page.locator("#follow-up-next-legal")
    expect(next_legal).to_contain_text("lead's time 08:00")
    assert Lead.objects.get(pk=lead.pk).next_follow_up_at is None

    next_legal.click()

    expect(state).to_contain_text("Follow-up set", timeout=STEP)
    local = Lead.objects.get(pk=lead.pk).next_follow_up_at.astimezone(ZoneInfo(lead.time_zone))
    assert (local.hour, local.minute) == (8, 0)
    # The refusal was a 400, which Chromium logs; nothing else went wrong.
    assert [error for error in tab.errors if "400 (Bad Request)" not in error] == []


def test_a_due_follow_up_rings_on_an_open_desk_once_and_is_listed(context, server_url):
    agent = make_agent("alice")
    other = make_agent("bob")
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page
    expect(page.locator("#follow-ups-due-count")).to_have_text("0", timeout=STEP)
    now = timezone.now()
    later = make_lead(agent, first_name="Later", next_follow_up_at=now + timedelta(hours=2))
    due = make_lead(
        agent, first_name="Due", last_name="Now", next_follow_up_at=now - timedelta(minutes=5)
    )
    make_lead(other, first_name="Bobs", next_follow_up_at=now - timedelta(minutes=5))

    # One scheduler tick, as the worker runs it (leads/followups.py).
    follow_ups_due_notify(now=timezone.now())

    banner = page.locator(".banner.follow-up-due")
    expect(banner).to_have_count(1, timeout=STEP)
    expect(banner).to_contain_text("Follow-up due")
    expect(banner).to_contain_text("Due Now")
    expect(page.locator("#follow-ups-due-count")).to_have_text("1", timeout=STEP)
    listed = page.locator("#follow-ups-due-list li")
    expect(listed).to_have_count(1)
    expect(listed.first).to_have_attribute("data-lead-id", str(due.pk))
    expect(listed.first).to_contain_text("overdue")
    assert not page.locator(f'#follow-ups-due-list li[data-lead-id="{later.pk}"]').count()

    # Another tick: nothing rings twice.
    follow_ups_due_notify(now=timezone.now())
    page.wait_for_timeout(500)
    expect(page.locator(".banner.follow-up-due")).to_have_count(1)
    assert tab.errors == []


def test_the_deployments_own_scheduler_rings_a_due_follow_up(context, server_url):
    """Nobody calls the scheduler here: with Redis, the Procfile's worker runs it; on the
    embedded default, the web process does (docs/call-loop.md, "The scheduler")."""
    agent = make_agent("alice")
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    page = tab.page
    make_lead(agent, first_name="Overdue", next_follow_up_at=timezone.now() - timedelta(hours=1))
    banner = page.locator(".banner.follow-up-due")

    if settings.REDIS_URL:
        page.reload()  # the lead was stored behind the server's back: no event announced it
        tab.wait_live()
        expect(page.locator("#follow-ups-due-count")).to_have_text("1", timeout=STEP)
        assert banner.count() == 0  # nothing rings it until a scheduler runs
        with celery_worker(server_env()):
            expect(banner).to_have_count(1, timeout=STEP)
    else:
        expect(banner).to_have_count(1, timeout=STEP * 3)
    expect(banner).to_contain_text("Overdue")
    assert Lead.objects.get(tenant=agent).follow_up_notified_at is not None

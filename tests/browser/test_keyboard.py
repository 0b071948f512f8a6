"""Issue 19, deliberate saves and the keyboard loop on the lead page: arrowing through a choice
saves nothing, a deliberate action saves the final value once, notes save themselves, "Save &
next lead" follows the desk's filter and order, and shortcuts are listed under "?"."""

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from leads.models import Disposition, Lead
from tests.browser.test_desk import STEP, log_in
from tests.factories import make_agent, make_lead, set_created_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server_url, viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def record_patches(page: Page) -> list[dict]:
    patches: list[dict] = []

    def remember(request) -> None:
        if request.method == "PATCH" and "/api/leads/" in request.url:
            patches.append(json.loads(request.post_data or "{}"))

    page.on("request", remember)
    return patches


def hold_choices_open(page: Page) -> None:
    """No settle timer fires during the test: only a deliberate action may save."""
    page.evaluate("document.getElementById('lead-form').dataset.settleMs = '600000'")


def open_lead(context: BrowserContext, server_url: str, lead: Lead, query: str = "") -> Page:
    tab = log_in(context, server_url, "alice")
    page = tab.goto(f"/leads/{lead.pk}/{query}")
    tab.wait_live()
    return page


def default_disposition(name: str, color: str) -> None:
    """One of the defaults every tenant has (leads/migrations/0002), there whatever ran before."""
    Disposition.objects.get_or_create(tenant=None, name=name, defaults={"color": color})


def arrow_to(page: Page, name: str) -> None:
    """Move through the disposition chips with ArrowRight until `name` is chosen."""
    chip = page.locator(f'input[name=disposition][value="{name}"]')
    for _ in range(30):
        if chip.is_checked():
            return
        page.keyboard.press("ArrowRight")
    raise AssertionError(f"never reached {name}")


def test_arrowing_through_status_saves_nothing_until_enter(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, status="New")
    page = open_lead(context, server_url, lead)
    patches = record_patches(page)
    hold_choices_open(page)

    page.focus("#status")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#status")).to_have_value("Won")
    page.evaluate("() => new Promise((done) => setTimeout(done, 300))")
    assert patches == []
    lead.refresh_from_db()
    assert lead.status == "New"

    page.keyboard.press("Enter")
    expect(page.locator("#save-state")).to_have_text("Status saved ✓", timeout=STEP)
    assert patches == [{"status": "Won"}]
    lead.refresh_from_db()
    assert lead.status == "Won"


def test_leaving_the_status_list_commits_the_final_choice_once(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, status="New")
    page = open_lead(context, server_url, lead)
    patches = record_patches(page)
    hold_choices_open(page)

    page.focus("#status")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert patches == []
    page.keyboard.press("Tab")

    expect(page.locator("#save-state")).to_have_text("Status saved ✓", timeout=STEP)
    assert patches == [{"status": "Follow-up"}]


def test_a_short_settle_commits_only_the_final_status(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, status="New")
    page = open_lead(context, server_url, lead)
    patches = record_patches(page)
    hold_choices_open(page)

    page.focus("#status")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.evaluate("document.getElementById('lead-form').dataset.settleMs = '50'")
    page.keyboard.press("ArrowDown")  # the last move starts a short settle

    expect(page.locator("#save-state")).to_have_text("Status saved ✓", timeout=STEP)
    assert patches == [{"status": "Won"}]


def test_arrowing_through_dispositions_saves_only_the_chosen_one_with_its_status(
    context, server_url
):
    agent = make_agent("alice")
    for name, color in (("Hung Up", "#ea580c"), ("Quoted", "#2563eb"), ("SOLD", "#15803d")):
        default_disposition(name, color)
    lead = make_lead(agent, status="New")
    page = open_lead(context, server_url, lead)
    patches = record_patches(page)
    hold_choices_open(page)

    # The mapping is on screen: each choice says the status it sets.
    expect(page.locator("label.chip-choice", has_text="SOLD")).to_contain_text("→ Won")
    page.focus('input[name=disposition][value=""]')
    arrow_to(page, "SOLD")
    assert patches == []

    page.keyboard.press("Space")
    expect(page.locator("#save-state")).to_have_text("Disposition and status saved ✓", timeout=STEP)
    assert patches == [{"disposition": "SOLD", "status": "Won"}]
    expect(page.locator("#status")).to_have_value("Won")
    lead.refresh_from_db()
    assert (lead.disposition, lead.status) == ("SOLD", "Won")


def test_a_click_on_a_disposition_saves_at_once_and_the_status_can_stay(context, server_url):
    agent = make_agent("alice")
    default_disposition("Quoted", "#2563eb")
    lead = make_lead(agent, status="Contacted")
    page = open_lead(context, server_url, lead)
    patches = record_patches(page)
    hold_choices_open(page)

    page.uncheck("#status-from-disposition")
    page.get_by_text("Quoted").click()

    expect(page.locator("#save-state")).to_have_text("Disposition saved ✓", timeout=STEP)
    assert patches == [{"disposition": "Quoted"}]
    lead.refresh_from_db()
    assert (lead.disposition, lead.status) == ("Quoted", "Contacted")


def test_notes_save_themselves_while_typing(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, notes="")
    page = open_lead(context, server_url, lead)

    page.focus("#notes")
    page.keyboard.type("Call back after lunch")

    expect(page.locator("#save-state")).to_have_text("Notes saved ✓", timeout=STEP)
    lead.refresh_from_db()
    assert lead.notes == "Call back after lunch"
    page.reload()
    expect(page.locator("#notes")).to_have_value("Call back after lunch")


def test_save_and_next_saves_then_follows_the_desks_filter_and_order(context, server_url):
    agent = make_agent("alice")
    now = timezone.now()
    oldest, skipped, middle, newest = (
        set_created_at(make_lead(agent, first_name=name, state=state), now - timedelta(hours=h))
        for name, state, h in (
            ("Oldest", "TX", 4),
            ("Skipped", "FL", 3),
            ("Middle", "TX", 2),
            ("Newest", "TX", 1),
        )
    )
    tab = log_in(context, server_url, "alice")
    desk = tab.goto("/?states=TX")
    desk.locator("#lead-rows tr").first.locator(".c-name a").click()
    expect(desk).to_have_url(f"{server_url}/leads/{newest.pk}?states=TX")
    tab.wait_live()
    hold_choices_open(desk)

    desk.focus("#notes")
    desk.keyboard.type("Left a voicemail")
    desk.click("#save-next")

    expect(desk).to_have_url(f"{server_url}/leads/{middle.pk}?states=TX", timeout=STEP)
    newest.refresh_from_db()
    assert newest.notes == "Left a voicemail"
    desk.click("#save-next")
    expect(desk).to_have_url(f"{server_url}/leads/{oldest.pk}?states=TX", timeout=STEP)
    desk.click("#save-next")  # the last one: back to that desk
    expect(desk).to_have_url(f"{server_url}/?states=TX", timeout=STEP)
    skipped.refresh_from_db()
    assert skipped.notes == ""  # never visited: its state is not TX
    assert tab.errors == []


def test_keyboard_only_lead_page_with_the_shortcut_list(context, server_url):
    agent = make_agent("alice")
    default_disposition("Hung Up", "#ea580c")
    now = timezone.now()
    first = set_created_at(make_lead(agent, first_name="First"), now - timedelta(minutes=1))
    second = set_created_at(make_lead(agent, first_name="Second"), now - timedelta(minutes=2))
    tab = log_in(context, server_url, "alice")
    page = tab.page
    tab.wait_live()

    page.keyboard.press("?")
    help_list = page.locator("#shortcuts-help")
    expect(help_list).to_be_visible()
    expect(help_list).to_contain_text("Next lead in the list")
    page.keyboard.press("Escape")
    expect(help_list).to_be_hidden()

    # Right after the list closes (seen failing on a loaded machine until 2026-12-01, when the
    # focus stayed on the closed list's tick box and the key counted as typing there).
    page.keyboard.press("j")
    expect(page.locator("#lead-rows tr").first.locator(".c-name a")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server_url}/leads/{first.pk}", timeout=STEP)
    tab.wait_live()
    patches = record_patches(page)
    hold_choices_open(page)

    page.keyboard.press("?")
    expect(page.locator("#shortcuts-help")).to_contain_text("Save and open the next lead")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts-help")).to_be_hidden()
    page.keyboard.press("e")
    expect(page.locator("#notes")).to_be_focused()
    page.keyboard.type("Hung up at once")
    page.keyboard.press("Shift+Tab")  # to the disposition group, through the tick box
    page.keyboard.press("Shift+Tab")
    arrow_to(page, "Hung Up")
    page.keyboard.press("Enter")
    expect(page.locator("#save-state")).to_contain_text("saved ✓", timeout=STEP)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("n")

    expect(page).to_have_url(f"{server_url}/leads/{second.pk}", timeout=STEP)
    first.refresh_from_db()
    assert (first.notes, first.disposition, first.status) == (
        "Hung up at once",
        "Hung Up",
        "Contacted",
    )
    assert all(set(patch) <= {"notes", "disposition", "status"} for patch in patches)
    assert [p.get("disposition") for p in patches if "disposition" in p] == ["Hung Up"]
    assert tab.errors == []


def test_back_from_a_lead_shows_the_desk_as_it_is_now(context, server_url):
    agent = make_agent("alice")
    lead = make_lead(agent, status="New")
    tab = log_in(context, server_url, "alice")
    page = tab.page
    page.locator("#lead-rows tr .c-name a").first.click()
    expect(page).to_have_url(f"{server_url}/leads/{lead.pk}", timeout=STEP)
    hold_choices_open(page)

    page.focus("#status")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#save-state")).to_have_text("Status saved ✓", timeout=STEP)
    page.go_back()

    expect(page.locator(f'#lead-rows tr[data-lead-id="{lead.pk}"] .c-status')).to_have_text(
        "Contacted", timeout=STEP
    )


# The shortcut list opens (focus on its tick box), closes, and a key comes before the browser's
# next rendering step: all in one task, which is what a loaded machine made of two key presses.
KEY_RIGHT_AFTER_THE_LIST_CLOSES = """(key) => {
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "?", bubbles: true }));
  const list = document.getElementById("shortcuts-help");
  list.close();
  const target = document.activeElement;
  target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
  return document.activeElement.id || document.activeElement.textContent.trim();
}"""


def test_a_shortcut_pressed_as_the_shortcut_list_closes_still_acts(context, server_url):
    """Seen in CI (2026-12-01): "e" or "j" at once after Esc did nothing, now and then. The focus
    was still on the closed list's tick box, so the key counted as typing in a field."""
    agent = make_agent("alice")
    make_lead(agent, first_name="Only", last_name="Lead")
    tab = log_in(context, server_url, "alice")
    tab.wait_live()
    assert tab.page.evaluate(KEY_RIGHT_AFTER_THE_LIST_CLOSES, "j") == "Only Lead"
    assert tab.errors == []

"""The steered import in a real Chromium (issue 15 item 5, CONTRACT §6): preview, field pickers,
"Try it", "Import", undo from the history, and the mapping learned for the vendor's header."""

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

from imports.models import ImportJob, ImportStatus
from leads.models import Lead
from tests.browser.conftest import celery_worker, server_env
from tests.factories import PASSWORD, make_agent, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).parents[1] / "imports" / "fixtures"
STEP = 10_000  # ms: a ceiling for each expected step, not a measured delay
ODD_HEADER = "Cell #,Full Name,E-Mail Address,Birthdate,Zip/Postal,Town,Region"
COUNTS = ("imported", "updated", "skipped", "failed", "doNotCall")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The importer: a Celery worker with Redis; without it the server runs imports itself."""
    if not settings.REDIS_URL:
        yield
        return
    with celery_worker(server_env()):
        yield


class Tab:
    """A page that records uncaught errors and console errors other than a refused request
    (a 400 the page shows is the point of some tests; the browser logs it anyway)."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page


def log_in(context: BrowserContext, base_url: str, username: str) -> Tab:
    tab = Tab(context, base_url)
    page = tab.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/", timeout=STEP)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=STEP)
    return tab


@pytest.fixture
def context(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(base_url=server_url, viewport={"width": 1366, "height": 900})
    yield context
    context.close()


@pytest.fixture
def phone(chromium: Browser, server_url: str) -> Iterator[BrowserContext]:
    context = chromium.new_context(
        base_url=server_url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
    )
    yield context
    context.close()


def odd_vendor_file(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(ODD_HEADER + "\n" + "\n".join(rows) + "\n")
    return path


WRONG_WEEK = [
    "(512) 555-0101,Ana María López,ana@example.com,31/01/1980,78701,Austin,TX",
    "(512) 555-0102,Ben Okafor,ben@example.com,15/06/1975,78702,Austin,TX",
    "(512) 555-0103,Chloé Martin,,28/02/1990,78703,Austin,TX",
    "(512) 555-0104,Dev Patel,dev@example.com,01/12/1968,78704,Austin,TX",
    "555,No Contact,,13/13/1980,78705,Austin,TX",
    "(512) 555-0199,Known Already,known@example.com,20/10/1970,78799,Round Rock,TX",
]
RIGHT_WEEK = [
    "(737) 555-0201,Eva Novak,eva@example.com,30/04/1982,78610,Buda,TX",
    "(737) 555-0202,Finn Walsh,finn@example.com,17/08/1979,78610,Buda,TX",
]


def preview_file(page: Page, path: Path) -> None:
    page.set_input_files("#import-file", str(path))
    expect(page.locator("#import-preview")).to_be_visible(timeout=STEP)
    expect(page.locator("#preview-file")).to_have_text(path.name)


def picker(page: Page, header: str):
    return page.get_by_label(f"Store as (column {header})", exact=True)


def date_order(page: Page, header: str):
    return page.get_by_label(f"Dates read (column {header})", exact=True)


def column_head(page: Page, header: str):
    return page.locator("#import-preview-table thead th.import-col").filter(
        has=page.locator(".import-header", has_text=header)
    )


def read_counts(page: Page, prefix: str) -> dict[str, int]:
    return {
        name: int(page.locator(f"#{prefix}-{name}").inner_text().replace(",", ""))
        for name in COUNTS
    }


def test_an_unseen_vendors_file_is_mapped_tried_imported_undone_and_learned(
    context, server_url, worker, tmp_path
):
    alice = make_agent("alice")
    known = make_lead(
        alice,
        first_name="Known",
        last_name="Already",
        phone="+15125550199",
        email="known@example.com",
        city="",
    )
    desk = log_in(context, server_url, "alice")
    expect(desk.page.locator("#lead-rows tr[data-lead-id]")).to_have_count(1)
    tab = Tab(context, server_url)
    page = tab.goto("/imports")

    preview_file(page, odd_vendor_file(tmp_path, "vendor-week-1.csv", WRONG_WEEK))

    # The suggestions are pre-selected, with how sure and why; the unrecognised are marked.
    expect(picker(page, "Cell #")).to_have_value("phone")
    expect(picker(page, "Full Name")).to_have_value("name")
    expect(picker(page, "E-Mail Address")).to_have_value("email")
    expect(picker(page, "Birthdate")).to_have_value("dob")
    expect(picker(page, "Zip/Postal")).to_have_value("zipcode")
    expect(column_head(page, "Cell #").locator(".import-confidence")).to_have_text("100 % sure")
    expect(column_head(page, "Zip/Postal").locator(".import-confidence")).to_have_text("70 % sure")
    expect(column_head(page, "Zip/Postal")).to_contain_text("a guess from a similar name")
    for header in ("Town", "Region"):
        expect(picker(page, header)).to_have_value("keep")
        expect(column_head(page, header)).to_have_class("import-col import-col-unknown")
        expect(column_head(page, header).locator(".import-confidence")).to_have_text(
            "Not recognised"
        )
    # The first rows as they are and as they will be stored: the day-first date read as such,
    # the full name split, the bad row's problem named.
    stored = page.locator("tr.import-row-stored[data-line='2'] td")
    expect(stored.nth(0)).to_have_text("+15125550101")
    expect(stored.nth(1)).to_have_text("Ana María López")
    expect(stored.nth(3)).to_have_text("1980-01-31")
    # 01/12/1968 alone could be 12 January; the file is day-first, so it is 1 December.
    expect(date_order(page, "Birthdate")).to_have_value("dmy")
    expect(column_head(page, "Birthdate")).to_contain_text("order found in the file")
    expect(page.locator("tr.import-row-stored[data-line='5'] td").nth(3)).to_have_text("1968-12-01")
    expect(page.locator("tr.import-row-problems[data-line='6']")).to_contain_text("Cell #")
    expect(
        page.locator("tr.import-row-stored[data-line='6'] td.import-cell-problem")
    ).not_to_have_count(0)

    # The agent maps the two it did not guess.
    picker(page, "Town").select_option("city")
    picker(page, "Region").select_option("state")

    page.get_by_role("button", name="Try it").click()
    expect(page.locator("#import-dry-run")).to_be_visible(timeout=STEP)
    tried = read_counts(page, "dry")
    assert tried == {"imported": 4, "updated": 1, "skipped": 0, "failed": 1, "doNotCall": 0}
    assert Lead.objects.filter(tenant=alice).count() == 1  # a try writes nothing

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-summary")).to_be_visible(timeout=STEP * 3)
    expect(page.locator("#import-phase")).to_have_text("Finished")
    assert read_counts(page, "sum") == tried
    ana = Lead.objects.get(tenant=alice, phone="+15125550101")
    assert (ana.first_name, ana.city, ana.state, ana.dob) == (
        "Ana María",
        "Austin",
        "TX",
        date(1980, 1, 31),
    )
    assert Lead.objects.get(tenant=alice, phone="+15125550104").dob == date(1968, 12, 1)
    known.refresh_from_db()
    assert known.city == "Round Rock"

    # On the desk (an import announces its progress, not each lead: the desk is reloaded).
    desk.page.reload()
    expect(desk.page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=STEP)
    expect(desk.page.locator("#lead-rows tr[data-lead-id]")).to_have_count(5)
    expect(desk.page.locator("#lead-rows")).to_contain_text("Ana María López")

    # Undo from the history: what it will do, then a confirmation; "Keep it" changes nothing.
    undo = page.get_by_role("button", name="Undo vendor-week-1.csv")
    undo.click()
    dialog = page.locator("#import-undo-dialog")
    expect(dialog).to_be_visible(timeout=STEP)
    expect(dialog.locator("#undo-plan-list li")).to_have_text(
        [
            "4 leads it created deleted",
            "1 lead it updated given their old values back",
            "0 leads changed since the import kept as they are",
        ]
    )
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    assert Lead.objects.filter(tenant=alice).count() == 5

    undo.click()
    expect(dialog).to_be_visible(timeout=STEP)
    dialog.get_by_role("button", name="Undo the import").click()
    result = page.locator("#import-undo-result")
    expect(result).to_have_text(
        "Undone: 4 leads deleted, 1 restored, 0 kept because they changed since.", timeout=STEP
    )
    expect(page.locator("#import-history tbody tr").first.locator(".status")).to_have_text("undone")
    expect(page.get_by_role("button", name="Undo vendor-week-1.csv")).to_have_count(0)
    assert Lead.objects.filter(tenant=alice).count() == 1
    known.refresh_from_db()
    assert known.city == ""
    # Open dashboards drop the deleted rows at once (lead_deleted).
    expect(desk.page.locator("#lead-rows tr[data-lead-id]")).to_have_count(1, timeout=STEP)
    expect(desk.page.locator("#lead-rows")).to_contain_text("Known Already")

    # The right week's file from the same vendor: mapped as the agent did, reason learned.
    preview_file(page, odd_vendor_file(tmp_path, "vendor-week-2.csv", RIGHT_WEEK))
    expect(picker(page, "Town")).to_have_value("city")
    expect(picker(page, "Region")).to_have_value("state")
    for header in ODD_HEADER.split(","):
        expect(column_head(page, header)).to_contain_text("learned from your earlier import")
        expect(column_head(page, header).locator(".import-confidence")).to_have_text("100 % sure")
    expect(page.locator("#preview-facts")).to_contain_text("vendor-week-1.csv")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-phase")).to_have_text("Finished", timeout=STEP * 3)
    expect(page.locator("#sum-imported")).to_have_text("2")
    assert Lead.objects.get(tenant=alice, phone="+17375550201").city == "Buda"
    assert tab.errors == [] and desk.errors == []


def test_the_agent_switches_an_assumed_date_order_and_the_run_reads_it(
    context, server_url, worker, tmp_path
):
    alice = make_agent("alice")
    log_in(context, server_url, "alice")
    tab = Tab(context, server_url)
    page = tab.goto("/imports")
    rows = [
        "(512) 555-0101,Ana López,ana@example.com,01/12/1968,78701,Austin,TX",
        "(512) 555-0102,Ben Okafor,ben@example.com,03/04/1975,78702,Austin,TX",
    ]
    preview_file(page, odd_vendor_file(tmp_path, "no-date-tells.csv", rows))

    order = date_order(page, "Birthdate")
    expect(order).to_have_value("mdy")
    expect(column_head(page, "Birthdate")).to_contain_text("order assumed month first")
    stored = page.locator("tr.import-row-stored[data-line='2'] td")
    expect(stored.nth(3)).to_have_text("1968-01-12")
    order.select_option("dmy")
    expect(stored.nth(3)).to_have_class(re.compile("import-pending"))
    # Stored as something else than the date of birth, the column has no order to pick.
    picker(page, "Birthdate").select_option("keep")
    expect(order).to_be_hidden()
    picker(page, "Birthdate").select_option("dob")
    expect(order).to_be_visible()
    expect(order).to_have_value("dmy")

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-phase")).to_have_text("Finished", timeout=STEP * 3)
    dobs = {lead.email: lead.dob for lead in Lead.objects.filter(tenant=alice)}
    assert dobs == {"ana@example.com": date(1968, 12, 1), "ben@example.com": date(1975, 4, 3)}
    assert tab.errors == []


def test_a_bad_mapping_is_shown_next_to_its_pickers_and_nothing_runs(context, server_url, tmp_path):
    alice = make_agent("alice")
    log_in(context, server_url, "alice")
    tab = Tab(context, server_url)
    page = tab.goto("/imports")
    preview_file(page, odd_vendor_file(tmp_path, "vendor.csv", WRONG_WEEK[:2]))

    # Two columns on one field: the error stands by both pickers.
    picker(page, "Town").select_option("phone")
    page.get_by_role("button", name="Try it").click()
    box = page.locator("#import-mapping-error")
    expect(box).to_be_visible(timeout=STEP)
    expect(box).to_contain_text("more than one column")
    for header in ("Cell #", "Town"):
        expect(picker(page, header)).to_have_attribute("aria-invalid", "true")
        expect(column_head(page, header).locator(".import-field-error")).to_contain_text(
            "phone is mapped from more than one column"
        )
    expect(picker(page, "Full Name")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#import-dry-run")).to_be_hidden()

    # No phone and no email: refused by the Import button too, and nothing runs.
    picker(page, "Town").select_option("city")
    picker(page, "Cell #").select_option("ignore")
    picker(page, "E-Mail Address").select_option("keep")
    expect(box).to_be_hidden()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(box).to_contain_text("No column is mapped to phone or email", timeout=STEP)
    expect(page.locator("#import-preview")).to_be_visible()
    expect(page.locator("#import-summary")).to_be_hidden()
    assert ImportJob.objects.get(tenant=alice).status == ImportStatus.PREVIEW
    assert not Lead.objects.filter(tenant=alice).exists()
    assert tab.errors == []


def test_a_nextgen_export_previews_its_fields_with_full_confidence(context, server_url):
    make_agent("alice")
    log_in(context, server_url, "alice")
    tab = Tab(context, server_url)
    page = tab.goto("/imports")
    preview_file(page, FIXTURES / "nextgen_export_sample.csv")

    expect(page.locator("#preview-facts")).to_contain_text("200 data rows")
    heads = page.locator("#import-preview-table thead th.import-col")
    assert heads.count() > 10
    mapped = 0
    for index in range(heads.count()):
        head = heads.nth(index)
        if head.locator("select.import-picker").input_value() in ("keep", "ignore"):
            continue  # the vendor's own columns, kept in vendor_data exactly as an upload does
        mapped += 1
        expect(head.locator(".import-confidence")).to_have_text("100 % sure")
    assert mapped >= 10
    expect(picker(page, "lead_id")).to_have_value("nextgenId")
    assert tab.errors == []


def test_the_import_page_fits_a_phone_and_every_control_is_labelled(phone, server_url, tmp_path):
    make_agent("alice")
    log_in(phone, server_url, "alice")
    tab = Tab(phone, server_url)
    page = tab.goto("/imports")
    preview_file(page, odd_vendor_file(tmp_path, "vendor.csv", WRONG_WEEK))

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    scroll = page.get_by_role("region", name="Columns and first rows of the file")
    expect(scroll).to_have_attribute("tabindex", "0")
    # The table scrolls inside its box, not the page.
    assert page.evaluate(
        "(() => { const box = document.getElementById('import-scroll');"
        " return box.scrollWidth > box.clientWidth; })()"
    )
    for select in page.locator("select.import-picker").all():
        label = page.locator(f"label[for='{select.get_attribute('id')}']")
        expect(label).to_have_count(1)
        assert select.bounding_box()["height"] >= 44
    for name in ("Try it", "Import", "Choose another file"):
        button = page.get_by_role("button", name=name, exact=True)
        assert button.bounding_box()["height"] >= 44
    assert page.get_by_text("choose a file").bounding_box()["height"] >= 44

    # Keyboard focus is visible: the scroll box and a picker draw an outline when focused.
    scroll.focus()
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; })()"
    )
    assert focused[0] == "SELECT" and focused[1] != "none" and focused[2] != "0px"
    assert tab.errors == []


def test_undoing_a_large_import_empties_an_open_desk(context, server_url, worker, tmp_path):
    """Past a thousand deletions the desk hears one leads_deleted for the rest: it reads its
    page again instead of keeping rows that are gone."""
    alice = make_agent("alice")
    rows = [f"Bulk,Person{n},(512) 7{n // 10000:02d}-{n % 10000:04d}" for n in range(1_200)]
    path = tmp_path / "big.csv"
    path.write_text("First Name,Last Name,Phone\n" + "\n".join(rows) + "\n")
    desk = log_in(context, server_url, "alice")
    tab = Tab(context, server_url)
    page = tab.goto("/imports")
    preview_file(page, path)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#sum-imported")).to_have_text("1,200", timeout=STEP * 3)
    desk.page.reload()
    expect(desk.page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=STEP)
    expect(desk.page.locator("#lead-rows tr[data-lead-id]")).not_to_have_count(0)

    page.get_by_role("button", name="Undo big.csv").click()
    page.get_by_role("button", name="Undo the import").click()
    expect(page.locator("#import-undo-result")).to_contain_text("1200 leads deleted", timeout=STEP)

    assert not Lead.objects.filter(tenant=alice).exists()
    expect(desk.page.locator("#lead-rows tr[data-lead-id]")).to_have_count(0, timeout=STEP)
    expect(desk.page.locator("#empty-state")).to_be_visible()
    assert tab.errors == [] and desk.errors == []

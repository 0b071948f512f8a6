"""The agent's pages, server side: desk, lead detail, import, integration, sign-up, lockout."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.test import Client
from rest_framework.test import APIClient

from imports.models import ImportJob
from leads import services
from leads.calling import lead_callability, lead_list_callable_now
from leads.models import InvitePasscode, Lead
from leads.services import PasscodeRejected, agent_sign_up, invite_passcode_redeem
from leads.views import age_label
from tests.factories import PASSWORD, make_agent, make_lead, set_created_at
from webhooks.models import NextGenCredential

pytestmark = pytest.mark.django_db

# 15:00 UTC: 10:00 in Chicago and 8:00 in Los Angeles (both callable), 5:00 in Honolulu (not).
AFTERNOON_UTC = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def browser(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture(autouse=True)
def no_signup_failures_yet():
    # The cache may be Redis, which outlives the test run.
    for address in ("127.0.0.1", "203.0.113.5", "203.0.113.6"):
        services.signup_failures_clear(client=address)


@pytest.fixture
def fixed_clock(monkeypatch):
    moment = {"now": AFTERNOON_UTC}
    monkeypatch.setattr(services, "clock", lambda: moment["now"])
    return moment


def passcode(code: str = "WELCOME2025", **fields) -> InvitePasscode:
    return InvitePasscode.objects.create(code=code, **fields)


def sign_up(client: Client, code: str, username: str = "newagent"):
    return client.post(
        "/accounts/signup/",
        {
            "code": code,
            "username": username,
            "email": f"{username}@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )


# --- Desk -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/?page=1"])
def test_desk_shows_only_the_agents_own_leads(browser, agent, other_agent, path):
    mine = make_lead(agent, first_name="Maria", last_name="Mine")
    theirs = make_lead(other_agent, first_name="Tom", last_name="Theirs")

    response = browser.get(path)

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Maria Mine" in page
    assert f'href="tel:{mine.phone}"' in page
    assert "Tom Theirs" not in page
    assert theirs.phone not in page


def test_desk_needs_a_login(client):
    response = client.get("/")

    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith("/accounts/login/")


def test_desk_filters_by_search_and_shows_the_age(browser, agent, fixed_clock):
    lead = make_lead(agent, first_name="Ana", last_name="Searched")
    set_created_at(lead, AFTERNOON_UTC - timedelta(minutes=3))
    make_lead(agent, first_name="Other", last_name="Person")

    page = browser.get("/", {"search": "searched"}).content.decode()

    assert "Ana Searched" in page
    assert "Other Person" not in page
    assert "3 min ago" in page


def test_desk_explains_a_bad_filter_instead_of_failing(browser, agent):
    make_lead(agent, first_name="Still", last_name="Shown")

    response = browser.get("/", {"sortBy": "shoeSize"})

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "were not understood" in page
    assert "Still Shown" in page


def test_desk_export_link_carries_the_current_filter(browser, agent):
    page = browser.get("/", {"states": "TX", "search": "ana"}).content.decode()

    assert 'href="/api/leads/export?search=ana&amp;states=TX' in page


def test_desk_can_show_only_leads_callable_now(browser, agent, fixed_clock):
    make_lead(agent, first_name="Chicago", last_name="Lead", time_zone="America/Chicago")
    make_lead(agent, first_name="Honolulu", last_name="Lead", time_zone="Pacific/Honolulu")
    make_lead(agent, first_name="Unknown", last_name="Zone", time_zone="")

    everyone = browser.get("/").content.decode()
    callable_now = browser.get("/", {"callable": "1"}).content.decode()

    assert all(name in everyone for name in ("Chicago Lead", "Honolulu Lead", "Unknown Zone"))
    assert "Chicago Lead" in callable_now
    assert "Honolulu Lead" not in callable_now
    assert "Unknown Zone" not in callable_now
    assert "Call now" in callable_now


def test_desk_draws_the_due_follow_ups_itself_overdue_first(
    browser, agent, other_agent, fixed_clock
):
    """The list is in the page as it loads, so it does not grow under the rows afterwards."""
    now = services.clock()
    make_lead(agent, first_name="Later", next_follow_up_at=now + timedelta(hours=2))
    late = make_lead(
        agent, first_name="Late", last_name="Caller", next_follow_up_at=now - timedelta(hours=1)
    )
    barred = make_lead(
        agent, first_name="Barred", do_not_call=True, next_follow_up_at=now - timedelta(minutes=5)
    )
    make_lead(other_agent, first_name="Bobs", next_follow_up_at=now - timedelta(hours=3))

    page = browser.get("/").content.decode()
    due = page[
        page.index('id="follow-ups-due"') : page.index(
            "</section>", page.index('id="follow-ups-due"')
        )
    ]

    assert 'data-count="2">2</span>' in due
    assert due.index("Late Caller") < due.index("Barred")
    assert "overdue 60 min" in due
    assert f'href="tel:{late.phone}" data-call-lead="{late.pk}"' in due
    assert f'data-call-lead="{barred.pk}"' not in due  # on the do-not-call list: no call link
    assert "Later" not in due and "Bobs" not in due
    assert 'id="follow-ups-due-empty" hidden' in due


def test_desk_says_nothing_is_due_from_the_start(browser, agent):
    page = browser.get("/").content.decode()
    assert 'data-count="0">0</span>' in page
    assert '<p class="muted" id="follow-ups-due-empty">Nothing due.' in page


def test_desk_shows_each_leads_attempts_and_filters_never_tried(browser, agent, fixed_clock):
    called = make_lead(
        agent,
        first_name="Called",
        last_name="Twice",
        attempts_total=2,
        last_attempt_at=AFTERNOON_UTC - timedelta(minutes=5),
    )
    make_lead(agent, first_name="Never", last_name="Called")

    everyone = browser.get("/").content.decode()
    never_tried = browser.get("/", {"attempts": "0"}).content.decode()

    assert '<th scope="col" class="c-attempts">' in everyone
    assert (
        f'2 calls · <time datetime="{called.last_attempt_at.isoformat().replace("+00:00", "Z")}"'
        ' title="Last call 2025-01-15 14:55 UTC">5 min ago</time>'
    ) in everyone
    assert "Never tried</td>" in everyone
    assert "Never Called" in never_tried
    assert "Called Twice" not in never_tried
    assert 'id="f-never-tried" checked' in never_tried
    # The desk's links (pages, export, the lead's page) keep the filter.
    assert "/api/leads/export?attempts=0" in never_tried
    assert '"neverTried": true' in never_tried


@pytest.mark.parametrize(
    ("time_zone", "utc_hour", "expected"),
    [
        ("America/Chicago", 14, True),  # 8:00 local: the first callable minute
        ("America/Chicago", 13, False),  # 7:00
        ("America/Chicago", 2, True),  # 20:00 (previous day)
        ("America/Chicago", 3, False),  # 21:00: calling hours are over
        ("America/New_York", 13, True),  # 8:00
        ("Pacific/Honolulu", 15, False),  # 5:00
        ("", 15, False),
        ("Not/AZone", 15, False),
    ],
)
def test_federal_calling_hours_are_8_to_21_in_the_leads_time_zone(time_zone, utc_hour, expected):
    now = datetime(2025, 1, 15, utc_hour, 0, tzinfo=UTC)

    assert lead_callability(lead=Lead(time_zone=time_zone), at=now).callable is expected


def test_callable_now_selector_stays_in_the_tenant(agent, other_agent):
    mine = make_lead(agent, time_zone="America/Chicago")
    make_lead(other_agent, time_zone="America/Chicago")

    leads = lead_list_callable_now(tenant=agent, now=AFTERNOON_UTC)

    assert list(leads) == [mine]


@pytest.mark.parametrize(
    ("minutes", "label"),
    [(0, "just now"), (3, "3 min ago"), (59, "59 min ago"), (125, "2 h ago"), (3000, "2 d ago")],
)
def test_age_reads_like_a_person_would_say_it(minutes, label):
    assert age_label(AFTERNOON_UTC - timedelta(minutes=minutes), AFTERNOON_UTC) == label


def test_header_counts_the_leads_waiting_and_the_oldest_age(
    browser, agent, other_agent, fixed_clock
):
    old = make_lead(agent)
    set_created_at(old, AFTERNOON_UTC - timedelta(minutes=12))
    make_lead(agent)
    make_lead(agent, status="Contacted")
    make_lead(agent, disposition="Not Interested")
    make_lead(other_agent)

    waiting = browser.get("/desk/waiting").json()

    assert waiting["count"] == 2
    assert waiting["oldestAge"] == "12 min ago"
    # Every signed-in page draws the counter as it loads (leads.context_processors).
    for path in ("/", f"/leads/{old.pk}/", "/imports/", "/integrations/nextgen", "/dnc/"):
        page = browser.get(path).content.decode()
        assert '<strong id="waiting-count">2</strong>' in page, path
        assert "new leads waiting" in page, path
        assert '<span id="waiting-oldest">12 min ago</span>' in page, path


def test_staff_see_a_link_to_django_admin(agent, client):
    client.force_login(make_agent("root", is_admin=True))
    assert 'href="/admin/"' in client.get("/").content.decode()

    client.force_login(agent)
    assert 'href="/admin/"' not in client.get("/").content.decode()


# --- Lead detail ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_lead_page_shows_every_group_of_fields(browser, agent, suffix):
    lead = make_lead(agent, first_name="Dana", city="Austin", tobacco_user=True, notes="Call later")

    response = browser.get(f"/leads/{lead.pk}{suffix}")

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    for group in ("Contact", "Location", "Demographics", "Health", "Household", "Campaign"):
        assert f">{group}</h2>" in page
    assert "Vendor data" in page
    assert "Austin" in page
    assert "Call later" in page


def test_another_tenants_lead_page_is_not_found(browser, other_agent):
    theirs = make_lead(other_agent)

    assert browser.get(f"/leads/{theirs.pk}/").status_code == HTTPStatus.NOT_FOUND


# --- Import and integration pages -----------------------------------------------------------------


def test_import_page_lists_only_the_agents_imports(browser, agent, other_agent):
    for tenant, name in ((agent, "mine.csv"), (other_agent, "theirs.csv")):
        ImportJob.objects.create(
            tenant=tenant, file_name=name, file_size=10, vendor="Generic", encoding="utf-8",
            delimiter=",", status="done",
        )  # fmt: skip

    response = browser.get("/imports")

    assert response.status_code == HTTPStatus.OK
    assert "mine.csv" in response.content.decode()
    assert "theirs.csv" not in response.content.decode()


def test_integration_page_shows_the_api_key_only_when_created(browser, agent):
    first = browser.get("/integrations/nextgen/").content.decode()
    assert "/api/webhooks/nextgen" in first
    assert "Create credentials" in first

    created = browser.post("/integrations/nextgen/", {"action": "create"}, follow=True)
    created = created.content.decode()
    credential = NextGenCredential.objects.get(tenant=agent, is_active=True)
    assert credential.sid in created
    assert "Copy the api key now" in created
    assert "curl -X POST" in created

    again = browser.get("/integrations/nextgen").content.decode()
    assert credential.sid in again
    assert "Copy the api key now" not in again
    assert "YOUR_API_KEY" in again


def test_rotating_needs_confirmation_then_replaces_the_key(browser, agent):
    browser.post("/integrations/nextgen/", {"action": "create"})
    old = NextGenCredential.objects.get(tenant=agent, is_active=True)

    refused = browser.post("/integrations/nextgen/", {"action": "rotate"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert NextGenCredential.objects.get(tenant=agent, is_active=True) == old

    rotated = browser.post(
        "/integrations/nextgen/", {"action": "rotate", "confirm": "yes"}, follow=True
    )
    new = NextGenCredential.objects.get(tenant=agent, is_active=True)
    assert rotated.redirect_chain == [("/integrations/nextgen", HTTPStatus.FOUND)]
    assert new != old
    assert new.sid in rotated.content.decode()


def test_integration_rotate_needs_the_csrf_token(agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    response = client.post("/integrations/nextgen/", {"action": "create"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not NextGenCredential.objects.exists()


# --- Sign-up with an invite passcode --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/accounts/signup", "/accounts/signup/"])
def test_signup_page_answers_without_redirect(client, path):
    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert 'name="code"' in response.content.decode()


def test_signup_with_a_valid_passcode_creates_the_agent_and_logs_in(client, fixed_clock):
    code = passcode(max_uses=2, expires_at=AFTERNOON_UTC + timedelta(days=1))

    response = sign_up(client, "welcome2025")

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"
    assert get_user_model().objects.filter(username="newagent", is_staff=False).exists()
    code.refresh_from_db()
    assert code.uses == 1
    assert client.get("/").status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expires_at": AFTERNOON_UTC - timedelta(seconds=1)}, "This passcode has expired."),
        ({"max_uses": 1, "uses": 1}, "This passcode has been used up."),
        ({"active": False}, "This passcode is not valid."),
    ],
)
def test_signup_with_an_unusable_passcode_creates_nothing(client, fixed_clock, fields, message):
    passcode(**fields)

    response = sign_up(client, "WELCOME2025")

    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not get_user_model().objects.filter(username="newagent").exists()


def test_five_wrong_passcodes_in_15_minutes_answer_429(fixed_clock):
    client = Client(REMOTE_ADDR="203.0.113.5")
    passcode()
    for attempt in range(services.SIGNUP_FAILURE_LIMIT):
        assert sign_up(client, f"WRONG{attempt:04d}").status_code == HTTPStatus.OK

    throttled = sign_up(client, "WELCOME2025")
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert not get_user_model().objects.filter(username="newagent").exists()
    # Another client is not affected.
    assert Client(REMOTE_ADDR="203.0.113.6").get("/accounts/signup/").status_code == HTTPStatus.OK

    fixed_clock["now"] += services.SIGNUP_FAILURE_WINDOW + timedelta(seconds=1)
    assert sign_up(client, "WELCOME2025").status_code == HTTPStatus.FOUND


def test_the_last_use_of_a_passcode_goes_to_one_sign_up_only(fixed_clock):
    code = passcode(max_uses=1)

    invite_passcode_redeem(code="WELCOME2025")
    with pytest.raises(PasscodeRejected, match="used up"):
        invite_passcode_redeem(code="WELCOME2025")

    code.refresh_from_db()
    assert code.uses == 1


def test_a_sign_up_that_fails_does_not_use_the_passcode(agent, fixed_clock):
    code = passcode(max_uses=1)

    with pytest.raises(IntegrityError):
        agent_sign_up(code="WELCOME2025", username=agent.username, password="x-long-passphrase")

    code.refresh_from_db()
    assert code.uses == 0


# --- Login lockout (django-axes) ------------------------------------------------------------------


def test_login_form_still_logs_in_with_axes_on(axes_on, agent):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        {"username": agent.username, "password": PASSWORD,
         "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )  # fmt: skip

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"


def test_repeated_failed_logins_lock_out_with_429(axes_on, agent):
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": agent.username, "password": "wrong"})

    locked = client.post("/accounts/login/", {"username": agent.username, "password": PASSWORD})

    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many failed logins" in locked.content.decode()


def test_token_api_works_with_axes_and_locks_out_too(axes_on, agent):
    api = APIClient()
    good = {"username": agent.username, "password": PASSWORD}

    assert api.post("/api/auth/token", good, format="json").status_code == HTTPStatus.OK
    for _ in range(5):
        api.post("/api/auth/token", {**good, "password": "wrong"}, format="json")
    locked = api.post("/api/auth/token", good, format="json")

    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert locked.json() == {"error": "Too many failed logins. Try again in 15 minutes."}

"""The call loop (CONTRACT §9): callability from the seeded rules, and the attempt log."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import quote

import pytest

from leads import services
from leads.models import CallAttempt, CallingRule, Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

# Wednesday 2 December 2026, 20:30 Eastern (EST, UTC-5) = 19:30 Central.
EVENING_EASTERN = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
MORNING_EASTERN = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 Eastern


@pytest.fixture
def clock(monkeypatch):
    moment = {"now": MORNING_EASTERN}
    monkeypatch.setattr(services, "clock", lambda: moment["now"])
    return moment


def florida_lead(agent, **fields) -> Lead:
    values = {"state": "FL", "phone": "+13055550101", "time_zone": "America/New_York"}
    return make_lead(agent, **{**values, **fields})


def callability(client, lead: Lead, at: datetime | None = None):
    query = f"?at={quote(at.isoformat())}" if at else ""
    return client.get(f"/api/leads/{lead.pk}/callability{query}")


def attempt(client, lead: Lead, body: dict | None = None):
    return client.post(f"/api/leads/{lead.pk}/attempts", body or {}, format="json")


def test_the_migration_seeds_federal_florida_and_oklahoma():
    rules = {rule.state: rule for rule in CallingRule.objects.all()}

    assert (str(rules[""].start), str(rules[""].end), rules[""].max_calls_per_24h) == (
        "08:00:00",
        "21:00:00",
        None,
    )
    assert "64.1200(c)(1)" in rules[""].notes
    assert (str(rules["FL"].end), rules["FL"].max_calls_per_24h) == ("20:00:00", 3)
    assert "501.616" in rules["FL"].notes
    assert (str(rules["OK"].end), rules["OK"].max_calls_per_24h) == ("20:00:00", 3)


@pytest.mark.parametrize(
    ("state", "phone", "time_zone", "at", "callable_", "reason", "local", "window", "next_at"),
    [
        # 20:30 Eastern: Florida closed at 20:00, next window 08:00 tomorrow.
        (
            "FL", "+13055550101", "America/New_York", EVENING_EASTERN, False, "outside_hours",
            "2026-12-02T20:30:00-05:00", {"start": "08:00", "end": "20:00"},
            "2026-12-03T08:00:00-05:00",
        ),
        # The same moment in Texas is 19:30: callable under the federal 08:00–21:00.
        (
            "TX", "+12105550101", "America/Chicago", EVENING_EASTERN, True, "ok",
            "2026-12-02T19:30:00-06:00", {"start": "08:00", "end": "21:00"}, None,
        ),
        # New York at 20:30 keeps the federal hours.
        (
            "NY", "+12125550101", "America/New_York", EVENING_EASTERN, True, "ok",
            "2026-12-02T20:30:00-05:00", {"start": "08:00", "end": "21:00"}, None,
        ),
        # 07:00 Pacific: too early, the window opens at 08:00 the same day.
        (
            "CA", "+14155550101", "America/Los_Angeles", MORNING_EASTERN, False, "outside_hours",
            "2026-12-02T07:00:00-08:00", {"start": "08:00", "end": "21:00"},
            "2026-12-02T08:00:00-08:00",
        ),
        # Florida's panhandle is Central: 19:30 there, still inside 08:00–20:00.
        (
            "FL", "+18505550101", "America/Chicago", EVENING_EASTERN, True, "ok",
            "2026-12-02T19:30:00-06:00", {"start": "08:00", "end": "20:00"}, None,
        ),
        (
            "", "+12105550101", "", EVENING_EASTERN, False, "unknown_time_zone",
            None, None, None,
        ),
    ],
)  # fmt: skip
def test_callability_follows_the_rules_for_the_leads_state(
    agent, agent_client, state, phone, time_zone, at, callable_, reason, local, window, next_at
):
    lead = make_lead(agent, state=state, phone=phone, time_zone=time_zone)

    response = callability(agent_client, lead, at)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "callable": callable_,
        "reason": reason,
        "localTime": local,
        "timeZone": time_zone,
        "window": window,
        "nextAllowedAt": next_at,
    }


def test_without_at_the_server_clock_decides(agent, agent_client, clock):
    clock["now"] = EVENING_EASTERN

    body = callability(agent_client, florida_lead(agent)).json()

    assert (body["callable"], body["nextAllowedAt"]) == (False, "2026-12-03T08:00:00-05:00")


def test_a_lead_on_the_do_not_call_list_is_never_callable(agent, agent_client):
    lead = florida_lead(agent, do_not_call=True)

    body = callability(agent_client, lead, MORNING_EASTERN).json()

    assert (body["callable"], body["reason"], body["nextAllowedAt"]) == (
        False,
        "do_not_call",
        None,
    )


def test_an_edited_rule_applies_at_once(agent, agent_client):
    CallingRule.objects.create(state="TX", start="09:00", end="19:00", notes="test")
    lead = make_lead(agent, state="TX", time_zone="America/Chicago")

    body = callability(agent_client, lead, EVENING_EASTERN).json()

    assert (body["reason"], body["window"]) == ("outside_hours", {"start": "09:00", "end": "19:00"})
    assert body["nextAllowedAt"] == "2026-12-03T09:00:00-06:00"


def test_a_weekday_without_hours_moves_the_next_call_past_it(agent, agent_client):
    CallingRule.objects.create(
        state="TX", start="08:00", end="21:00", weekday_hours={"thu": None}, notes="test"
    )
    lead = make_lead(agent, state="TX", time_zone="America/Chicago")
    late_wednesday = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 22:00 Central, Wednesday

    body = callability(agent_client, lead, late_wednesday).json()

    assert body["nextAllowedAt"] == "2026-12-04T08:00:00-06:00"  # Friday


@pytest.mark.parametrize(
    "at", ["yesterday", "2026-12-02T20:30:00", "0001-01-01T00:00:00Z", "x" * 65]
)
def test_a_bad_at_is_refused(agent, agent_client, at):
    lead = florida_lead(agent)

    response = agent_client.get(f"/api/leads/{lead.pk}/callability", {"at": at})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "at" in response.json()["error"]


def test_another_tenants_lead_is_not_found(agent, other_client):
    lead = florida_lead(agent)

    assert callability(other_client, lead).status_code == HTTPStatus.NOT_FOUND
    assert other_client.get(f"/api/leads/{lead.pk}/attempts").status_code == HTTPStatus.NOT_FOUND
    assert attempt(other_client, lead).status_code == HTTPStatus.NOT_FOUND
    assert not CallAttempt.objects.exists()


# --- Attempts --------------------------------------------------------------------------------


def test_an_attempt_is_recorded_and_counted_on_the_lead(agent, agent_client, clock):
    lead = florida_lead(agent)

    response = attempt(agent_client, lead, {"outcome": "voicemail", "note": "left a message"})

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["outcome"] == "voicemail"
    assert (body["attemptsTotal"], body["attempts24h"]) == (1, 1)
    assert datetime.fromisoformat(body["at"]) == MORNING_EASTERN
    resource = agent_client.get(f"/api/leads/{lead.pk}").json()
    assert resource["attemptsTotal"] == 1
    assert datetime.fromisoformat(resource["lastAttemptAt"]) == MORNING_EASTERN
    assert resource["nextFollowUpAt"] is None


def test_the_fourth_call_to_a_florida_lead_in_24_hours_is_refused(agent, agent_client, clock):
    lead = florida_lead(agent)
    for minutes in (0, 30, 60):
        clock["now"] = MORNING_EASTERN + timedelta(minutes=minutes)
        assert attempt(agent_client, lead).status_code == HTTPStatus.CREATED
    clock["now"] = MORNING_EASTERN + timedelta(hours=2)

    response = attempt(agent_client, lead)

    assert response.status_code == HTTPStatus.CONFLICT
    body = response.json()
    assert (body["callable"], body["reason"]) == (False, "daily_cap")
    # The first call ages out 24 hours after it was made: 10:00 Eastern tomorrow.
    assert body["nextAllowedAt"] == "2026-12-03T10:00:00-05:00"
    assert body["error"]
    assert CallAttempt.objects.filter(lead=lead).count() == 3


def test_a_texas_lead_has_no_cap(agent, agent_client, clock):
    lead = make_lead(agent, state="TX", time_zone="America/Chicago")

    statuses = {attempt(agent_client, lead).status_code for _ in range(5)}

    assert statuses == {HTTPStatus.CREATED}
    assert Lead.objects.get(pk=lead.pk).attempts_total == 5


def test_a_capped_lead_past_closing_is_next_callable_when_both_allow(agent, agent_client, clock):
    lead = florida_lead(agent)
    # Three calls from 19:00 to 19:50 Eastern; at 19:55 the cap refuses until 19:00 tomorrow.
    for minutes in (0, 25, 50):
        clock["now"] = datetime(2026, 12, 3, 0, minutes, tzinfo=UTC)
        attempt(agent_client, lead)

    body = callability(agent_client, lead, datetime(2026, 12, 3, 0, 55, tzinfo=UTC)).json()

    assert (body["reason"], body["nextAllowedAt"]) == ("daily_cap", "2026-12-03T19:00:00-05:00")


def test_a_call_outside_hours_is_refused_unless_overridden(agent, agent_client, clock):
    clock["now"] = EVENING_EASTERN
    lead = florida_lead(agent)

    refused = attempt(agent_client, lead)
    overridden = attempt(agent_client, lead, {"override": {"reason": "They asked me to call"}})

    assert refused.status_code == HTTPStatus.CONFLICT
    assert refused.json()["reason"] == "outside_hours"
    assert refused.json()["nextAllowedAt"] == "2026-12-03T08:00:00-05:00"
    assert overridden.status_code == HTTPStatus.CREATED
    stored = CallAttempt.objects.get(lead=lead)
    assert (stored.override_reason, stored.by) == ("They asked me to call", agent)


def test_a_do_not_call_lead_is_refused(agent, agent_client, clock):
    lead = florida_lead(agent, do_not_call=True)

    response = attempt(agent_client, lead)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["reason"] == "do_not_call"


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "sold it"},
        {"override": {"reason": ""}},
        {"override": "because"},
        {"override": {"reason": 0}},
        {"note": 7},
        {"note": "x" * 2001},
        ["outcome"],
    ],
)
def test_a_malformed_attempt_is_refused(agent, agent_client, clock, body):
    lead = florida_lead(agent)

    response = agent_client.post(f"/api/leads/{lead.pk}/attempts", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not CallAttempt.objects.exists()


def test_an_attempt_must_be_json(agent, agent_client, clock):
    lead = florida_lead(agent)

    response = agent_client.post(
        f"/api/leads/{lead.pk}/attempts", {"override": "{}"}, format="multipart"
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert not CallAttempt.objects.exists()


def test_attempts_are_listed_newest_first(agent, agent_client, clock):
    lead = florida_lead(agent)
    for minutes, outcome in ((0, "no_answer"), (10, "busy")):
        clock["now"] = MORNING_EASTERN + timedelta(minutes=minutes)
        attempt(agent_client, lead, {"outcome": outcome})

    response = agent_client.get(f"/api/leads/{lead.pk}/attempts")

    assert response.status_code == HTTPStatus.OK
    results = response.json()["results"]
    assert [row["outcome"] for row in results] == ["busy", "no_answer"]
    assert results[0]["by"] == agent.username
    assert response.json()["pagination"]["total"] == 2


def test_the_list_filters_leads_never_tried(agent, agent_client, clock):
    tried = florida_lead(agent)
    untried = make_lead(agent)
    attempt(agent_client, tried)

    response = agent_client.get("/api/leads", {"attempts": "0"})

    assert response.status_code == HTTPStatus.OK
    assert [row["id"] for row in response.json()["results"]] == [untried.pk]
    assert agent_client.get("/api/leads", {"attempts": "1"}).status_code == HTTPStatus.BAD_REQUEST


# --- The desk shows the server's answer --------------------------------------------------------


def test_the_desk_at_2030_eastern_says_not_now_in_florida_and_call_now_in_texas(
    agent, client, clock
):
    clock["now"] = EVENING_EASTERN
    florida = florida_lead(agent, first_name="Florida")
    texas = make_lead(agent, first_name="Texas", state="TX", time_zone="America/Chicago")
    client.force_login(agent)

    page = client.get("/").content.decode()
    callable_only = client.get("/", {"callable": "1"}).content.decode()

    florida_row = page.split(f'data-lead-id="{florida.pk}"')[1].split("</tr>")[0]
    texas_row = page.split(f'data-lead-id="{texas.pk}"')[1].split("</tr>")[0]
    assert "Not now — 08:00 2026-12-03" in florida_row
    assert 'data-callable="false"' in florida_row
    assert 'data-next-allowed-at="2026-12-03T08:00:00-05:00"' in florida_row
    assert "Call now" in texas_row and f'data-call-lead="{texas.pk}"' in texas_row
    assert f'data-lead-id="{texas.pk}"' in callable_only
    assert f'data-lead-id="{florida.pk}"' not in callable_only


def test_callable_now_leaves_out_a_lead_at_its_cap(agent, agent_client, client, clock):
    capped = florida_lead(agent)
    free = florida_lead(agent, phone="+13055550102")
    for minutes in (0, 1, 2):
        clock["now"] = MORNING_EASTERN + timedelta(minutes=minutes)
        attempt(agent_client, capped)
    client.force_login(agent)

    page = client.get("/", {"callable": "1"}).content.decode()

    assert f'data-lead-id="{free.pk}"' in page
    assert f'data-lead-id="{capped.pk}"' not in page


def test_the_lead_page_says_when_the_lead_may_be_called(agent, client, clock):
    clock["now"] = EVENING_EASTERN
    lead = florida_lead(agent)
    client.force_login(agent)

    page = client.get(f"/leads/{lead.pk}/").content.decode()

    assert "Not now — 08:00 2026-12-03" in page
    assert f'data-call-lead="{lead.pk}"' in page

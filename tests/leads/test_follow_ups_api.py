"""Follow-ups through the API (CONTRACT §9): set inside the calling window, listed, done."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest

from leads import services
from leads.models import Lead
from tests.factories import make_lead

pytestmark = pytest.mark.django_db

# Wednesday 2 December 2026, 10:00 Eastern (EST, UTC-5).
MORNING_EASTERN = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    moment = {"now": MORNING_EASTERN}
    monkeypatch.setattr(services, "clock", lambda: moment["now"])
    return moment


def florida_lead(agent, **fields) -> Lead:
    values = {"state": "FL", "phone": "+13055550101", "time_zone": "America/New_York"}
    return make_lead(agent, **{**values, **fields})


def set_follow_up(client, lead: Lead, value, **other):
    return client.patch(f"/api/leads/{lead.pk}", {"nextFollowUpAt": value, **other}, format="json")


def test_a_follow_up_inside_the_window_is_set(agent, agent_client, clock):
    lead = florida_lead(agent)

    response = set_follow_up(agent_client, lead, "2026-12-02T10:15:00-05:00")

    assert response.status_code == HTTPStatus.OK
    assert datetime.fromisoformat(response.json()["nextFollowUpAt"]) == MORNING_EASTERN + timedelta(
        minutes=15
    )
    lead.refresh_from_db()
    assert lead.next_follow_up_at == MORNING_EASTERN + timedelta(minutes=15)


def test_a_florida_follow_up_at_2030_is_refused_with_the_next_legal_time(
    agent, agent_client, clock
):
    lead = florida_lead(agent)

    response = set_follow_up(agent_client, lead, "2026-12-02T20:30:00-05:00", notes="call back")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["nextLegalAt"] == "2026-12-03T08:00:00-05:00"
    assert body["reason"] == "outside_hours"
    assert "nextFollowUpAt" in body["fields"]
    lead.refresh_from_db()
    assert (lead.next_follow_up_at, lead.notes) == (None, "")  # nothing changed


def test_the_same_evening_time_is_fine_in_texas(agent, agent_client, clock):
    lead = make_lead(agent)  # Texas, Central: 19:30 local, federal hours

    response = set_follow_up(agent_client, lead, "2026-12-02T20:30:00-05:00")

    assert response.status_code == HTTPStatus.OK


def test_a_lead_without_a_time_zone_gets_no_follow_up_and_no_next_time(agent, agent_client, clock):
    lead = make_lead(agent, state="", time_zone="")

    response = set_follow_up(agent_client, lead, "2026-12-02T11:00:00-05:00")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["reason"] == "unknown_time_zone"
    assert response.json()["nextLegalAt"] is None


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-02T11:00:00",  # no offset
        "tomorrow",
        "",
        12345,
        True,
        {"at": "2026-12-02T11:00:00-05:00"},
        "9999-12-31T23:00:00-05:00",
        "2026-12-02T11:00:00-05:00" + "0" * 100,
    ],
)
def test_a_malformed_follow_up_is_refused(agent, agent_client, clock, value):
    lead = florida_lead(agent)

    response = set_follow_up(agent_client, lead, value)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "nextFollowUpAt" in response.json()["fields"]
    lead.refresh_from_db()
    assert lead.next_follow_up_at is None


def test_a_follow_up_in_the_past_is_refused(agent, agent_client, clock):
    lead = florida_lead(agent)

    response = set_follow_up(agent_client, lead, "2026-12-02T09:00:00-05:00")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "past" in response.json()["error"]


def test_null_clears_the_follow_up(agent, agent_client, clock):
    lead = florida_lead(agent, next_follow_up_at=MORNING_EASTERN + timedelta(hours=1))

    response = set_follow_up(agent_client, lead, None)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["nextFollowUpAt"] is None


def test_the_resource_does_not_show_the_schedulers_bookkeeping(agent, agent_client, clock):
    lead = florida_lead(agent)

    resource = agent_client.get(f"/api/leads/{lead.pk}").json()

    assert {"nextFollowUpAt", "attemptsTotal", "lastAttemptAt"} <= set(resource)
    assert "followUpNotifiedAt" not in resource


def test_another_tenants_lead_cannot_be_given_a_follow_up(agent, other_client, clock):
    lead = florida_lead(agent)

    response = set_follow_up(other_client, lead, "2026-12-02T11:00:00-05:00")

    assert response.status_code == HTTPStatus.NOT_FOUND
    lead.refresh_from_db()
    assert lead.next_follow_up_at is None


# --- The list --------------------------------------------------------------------------------


def test_follow_ups_are_listed_soonest_first_and_due_now_keeps_the_due(
    agent, other_agent, agent_client, clock
):
    now = MORNING_EASTERN
    later = make_lead(agent, next_follow_up_at=now + timedelta(hours=2))
    overdue = make_lead(agent, next_follow_up_at=now - timedelta(days=1))
    due = make_lead(agent, next_follow_up_at=now - timedelta(minutes=5))
    make_lead(agent)  # no follow-up
    make_lead(other_agent, next_follow_up_at=now - timedelta(hours=1))

    every = agent_client.get("/api/followups").json()
    due_now = agent_client.get("/api/followups?due=now").json()

    assert [lead["id"] for lead in every["results"]] == [overdue.pk, due.pk, later.pk]
    assert [lead["id"] for lead in due_now["results"]] == [overdue.pk, due.pk]
    assert due_now["pagination"]["total"] == 2


@pytest.mark.parametrize("query", ["due=later", "due=", "due=now&due=now", "when=now", "limit=5"])
def test_a_bad_follow_up_query_is_refused(agent_client, query):
    response = agent_client.get(f"/api/followups?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]


def test_the_follow_up_list_needs_a_login(anon_client):
    assert anon_client.get("/api/followups").status_code == HTTPStatus.UNAUTHORIZED


def test_the_lead_list_filters_due_follow_ups(agent, other_agent, agent_client, clock):
    due = make_lead(agent, next_follow_up_at=MORNING_EASTERN - timedelta(minutes=1))
    make_lead(agent, next_follow_up_at=MORNING_EASTERN + timedelta(minutes=30))
    make_lead(agent)
    make_lead(other_agent, next_follow_up_at=MORNING_EASTERN - timedelta(minutes=1))

    response = agent_client.get("/api/leads?followUp=due")

    assert [lead["id"] for lead in response.json()["results"]] == [due.pk]
    assert agent_client.get("/api/leads?followUp=soon").status_code == HTTPStatus.BAD_REQUEST


def test_a_call_once_the_follow_up_is_due_handles_it(agent, agent_client, clock):
    lead = florida_lead(agent)
    assert set_follow_up(agent_client, lead, "2026-12-02T10:15:00-05:00").status_code == 200
    clock["now"] = MORNING_EASTERN + timedelta(minutes=20)
    assert [row["id"] for row in agent_client.get("/api/followups?due=now").json()["results"]] == [
        lead.pk
    ]

    response = agent_client.post(f"/api/leads/{lead.pk}/attempts", {}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert agent_client.get("/api/followups?due=now").json()["results"] == []
    lead.refresh_from_db()
    assert lead.next_follow_up_at is None


def test_a_call_before_the_follow_up_is_due_keeps_it(agent, agent_client, clock):
    lead = florida_lead(agent)
    assert set_follow_up(agent_client, lead, "2026-12-02T11:00:00-05:00").status_code == 200

    agent_client.post(f"/api/leads/{lead.pk}/attempts", {}, format="json")

    lead.refresh_from_db()
    assert lead.next_follow_up_at == MORNING_EASTERN + timedelta(hours=1)

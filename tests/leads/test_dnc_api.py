"""CONTRACT §7: the agent's do-not-call list through its API, and the lead's doNotCall."""

import csv
import io
from http import HTTPStatus

import pytest

from leads.models import DoNotCallEntry, Lead
from tests.factories import make_lead
from tests.imports.conftest import streamed_text

pytestmark = pytest.mark.django_db

ENTRY_KEYS = {"id", "phone", "phoneDisplay", "reason", "source", "addedBy", "addedAt"}


def add(client, phone: str = "(210) 461-1180", reason: str = "Asked not to be called", **extra):
    return client.post("/api/dnc", {"phone": phone, "reason": reason, **extra}, format="json")


@pytest.mark.parametrize("path", ["/api/dnc", "/api/dnc/"])
def test_adding_a_number_lists_it_normalised(agent_client, agent, path):
    answer = agent_client.post(
        path, {"phone": "+1 (210) 461-1180", "reason": "  Asked on the phone  "}, format="json"
    )

    assert answer.status_code == HTTPStatus.CREATED
    entry = answer.json()
    assert set(entry) >= ENTRY_KEYS
    assert entry["phone"] == "+12104611180"
    assert entry["phoneDisplay"] == "(210) 461-1180"
    assert entry["reason"] == "Asked on the phone"
    assert (entry["source"], entry["addedBy"]) == ("manual", agent.username)
    assert entry["addedAt"]


def test_adding_a_listed_number_again_answers_200_with_the_first_entry(agent_client):
    first = add(agent_client, "2104611180", "First request").json()

    again = add(agent_client, "(210) 461-1180", "Second request")

    assert again.status_code == HTTPStatus.OK
    assert again.json()["id"] == first["id"]
    assert again.json()["reason"] == "First request"
    assert DoNotCallEntry.objects.count() == 1


def test_adding_flags_the_tenants_lead_with_that_phone_at_once(agent_client, agent):
    lead = make_lead(agent, phone="+12104611180")
    other = make_lead(agent, phone="+12104611181")

    add(agent_client, "210-461-1180")

    assert agent_client.get(f"/api/leads/{lead.pk}").json()["doNotCall"] is True
    assert agent_client.get(f"/api/leads/{other.pk}").json()["doNotCall"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "not a phone", "reason": "x"}, "phone"),
        ({"phone": "555-0100", "reason": "x"}, "phone"),
        ({"phone": "", "reason": "x"}, "phone"),
        ({"reason": "x"}, "phone"),
        ({"phone": 2104611180, "reason": "x"}, "phone"),
        ({"phone": "2104611180"}, "reason"),
        ({"phone": "2104611180", "reason": "   "}, "reason"),
        ({"phone": "2104611180", "reason": "x" * 201}, "reason"),
        ({"phone": "2104611180", "reason": " " + "x" * 200}, "reason"),
        ({"phone": "2104611180", "reason": ["a list"]}, "reason"),
        ({"phone": "1" * 41, "reason": "x"}, "phone"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(agent_client, agent, body, field):
    lead = make_lead(agent, phone="+12104611180")

    answer = agent_client.post("/api/dnc", body, format="json")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert field in answer.json()["fields"]
    assert answer.json()["error"].startswith(field)
    assert not DoNotCallEntry.objects.exists()
    lead.refresh_from_db()
    assert lead.do_not_call is False


def test_a_nul_character_is_refused(agent_client):
    body = '{"phone": "2104611180", "reason": "a\\u0000b"}'

    answer = agent_client.post("/api/dnc", body, content_type="application/json")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert not DoNotCallEntry.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(agent_client):
    answer = agent_client.post("/api/dnc", ["2104611180"], format="json")

    assert answer.status_code == HTTPStatus.BAD_REQUEST


def test_the_list_shows_active_entries_newest_first_and_searches_digits(agent_client):
    for number in ("2104611180", "2104611181", "3125550100"):
        add(agent_client, number)
    removed = add(agent_client, "2104611182").json()
    agent_client.post(f"/api/dnc/{removed['id']}/remove", {"reason": "Mistake"}, format="json")

    page = agent_client.get("/api/dnc").json()
    found = agent_client.get("/api/dnc", {"search": "(210) 461"}).json()

    assert [entry["phone"] for entry in page["results"]] == [
        "+13125550100",
        "+12104611181",
        "+12104611180",
    ]
    assert page["pagination"] == {"total": 3, "page": 1, "pages": 1, "limit": 50}
    assert {entry["phone"] for entry in found["results"]} == {"+12104611180", "+12104611181"}


@pytest.mark.parametrize("query", [{"limit": "5"}, {"page": "0"}, {"sortBy": "phone"}])
def test_bad_list_parameters_are_a_400(agent_client, query):
    assert agent_client.get("/api/dnc", query).status_code == HTTPStatus.BAD_REQUEST


def test_removing_keeps_the_entry_marked_and_unflags_the_lead(agent_client, agent):
    lead = make_lead(agent, phone="+12104611180")
    entry = add(agent_client, "2104611180").json()

    answer = agent_client.post(
        f"/api/dnc/{entry['id']}/remove/", {"reason": "Consented again"}, format="json"
    )

    assert answer.status_code == HTTPStatus.OK
    body = answer.json()
    assert body["removedBy"] == agent.username
    assert body["removalReason"] == "Consented again"
    assert body["removedAt"]
    stored = DoNotCallEntry.objects.get(pk=entry["id"])
    assert (stored.removed_by, stored.removal_reason) == (agent, "Consented again")
    lead.refresh_from_db()
    assert lead.do_not_call is False
    assert agent_client.get("/api/dnc").json()["pagination"]["total"] == 0


def test_removing_needs_a_reason_and_changes_nothing_without_one(agent_client, agent):
    lead = make_lead(agent, phone="+12104611180")
    entry = add(agent_client, "2104611180").json()

    answer = agent_client.post(f"/api/dnc/{entry['id']}/remove", {}, format="json")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert "reason" in answer.json()["fields"]
    lead.refresh_from_db()
    assert lead.do_not_call is True
    assert DoNotCallEntry.objects.get(pk=entry["id"]).removed_at is None


def test_removing_twice_keeps_the_first_removal(agent_client):
    entry = add(agent_client, "2104611180").json()
    path = f"/api/dnc/{entry['id']}/remove"
    first = agent_client.post(path, {"reason": "First"}, format="json").json()

    again = agent_client.post(path, {"reason": "Second"}, format="json")

    assert again.status_code == HTTPStatus.OK
    assert again.json()["removalReason"] == "First"
    assert again.json()["removedAt"] == first["removedAt"]


def test_a_removed_number_can_be_listed_again(agent_client, agent):
    lead = make_lead(agent, phone="+12104611180")
    entry = add(agent_client, "2104611180").json()
    agent_client.post(f"/api/dnc/{entry['id']}/remove", {"reason": "Mistake"}, format="json")

    again = add(agent_client, "2104611180", "Asked again")

    assert again.status_code == HTTPStatus.CREATED
    assert again.json()["id"] != entry["id"]
    lead.refresh_from_db()
    assert lead.do_not_call is True


def test_another_agents_entry_answers_404_and_stays_as_it_is(agent_client, other_client):
    theirs = add(other_client, "2104611180").json()

    answer = agent_client.post(f"/api/dnc/{theirs['id']}/remove", {"reason": "x"}, format="json")

    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.json()["error"]
    assert DoNotCallEntry.objects.get(pk=theirs["id"]).removed_at is None
    assert agent_client.get("/api/dnc").json()["results"] == []


def test_two_agents_lists_never_touch(agent_client, other_client, agent, other_agent):
    mine = make_lead(agent, phone="+12104611180")
    theirs = make_lead(other_agent, phone="+12104611180")

    add(agent_client, "2104611180")

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.do_not_call, theirs.do_not_call) == (True, False)
    assert add(other_client, "2104611180").status_code == HTTPStatus.CREATED
    entry = other_client.get("/api/dnc").json()["results"][0]
    other_client.post(f"/api/dnc/{entry['id']}/remove", {"reason": "x"}, format="json")
    mine.refresh_from_db()
    assert mine.do_not_call is True


def test_anonymous_gets_401(anon_client):
    assert anon_client.get("/api/dnc").status_code == HTTPStatus.UNAUTHORIZED
    assert add(anon_client).status_code == HTTPStatus.UNAUTHORIZED
    assert anon_client.get("/api/dnc/audit.csv").status_code == HTTPStatus.UNAUTHORIZED


def test_audit_csv_has_every_addition_and_removal_formula_safe(agent_client, agent, other_client):
    entry = add(agent_client, "2104611180", '=HYPERLINK("x")').json()
    agent_client.post(f"/api/dnc/{entry['id']}/remove", {"reason": "@mistake"}, format="json")
    add(other_client, "3125550100", "Not mine")

    answer = agent_client.get("/api/dnc/audit.csv")

    assert answer.status_code == HTTPStatus.OK
    assert answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(streamed_text(answer))))
    assert rows[0] == ["phone", "action", "reason", "source", "by", "at"]
    assert [row[:5] for row in rows[1:]] == [
        ["(210) 461-1180", "added", '\'=HYPERLINK("x")', "manual", agent.username],
        ["(210) 461-1180", "removed", "'@mistake", "manual", agent.username],
    ]


def test_lead_list_and_export_filter_on_do_not_call(agent_client, agent):
    listed = make_lead(agent, phone="+12104611180")
    make_lead(agent, phone="+12104611181")
    add(agent_client, "2104611180")

    flagged = agent_client.get("/api/leads", {"doNotCall": "true"}).json()
    unflagged = agent_client.get("/api/leads", {"doNotCall": "false"}).json()
    export = agent_client.get("/api/leads/export", {"doNotCall": "true"})

    assert [lead["id"] for lead in flagged["results"]] == [listed.pk]
    assert listed.pk not in [lead["id"] for lead in unflagged["results"]]
    assert unflagged["pagination"]["total"] == 1
    rows = list(csv.DictReader(io.StringIO(streamed_text(export))))
    assert [(row["id"], row["doNotCall"]) for row in rows] == [(str(listed.pk), "true")]


@pytest.mark.parametrize("value", ["yes", "1", "", "TRUE"])
def test_do_not_call_filter_takes_true_or_false_only(agent_client, value):
    answer = agent_client.get("/api/leads", {"doNotCall": value})

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert "doNotCall" in answer.json()["fields"]


def test_editing_a_leads_phone_to_a_listed_number_flags_it(agent_client, agent):
    lead = make_lead(agent, phone="+12104611181")
    add(agent_client, "2104611180")

    answer = agent_client.patch(f"/api/leads/{lead.pk}", {"phone": "210 461 1180"}, format="json")
    assert answer.json()["doNotCall"] is True

    answer = agent_client.patch(f"/api/leads/{lead.pk}", {"phone": "210 461 1189"}, format="json")
    assert answer.json()["doNotCall"] is False


def test_do_not_call_cannot_be_patched_by_hand(agent_client, agent):
    lead = make_lead(agent)

    answer = agent_client.patch(f"/api/leads/{lead.pk}", {"doNotCall": True}, format="json")

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert Lead.objects.get(pk=lead.pk).do_not_call is False

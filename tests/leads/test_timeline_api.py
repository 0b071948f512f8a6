"""A lead's story (CONTRACT §9): recorded where each change happens, read in time order."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports.models import ImportJob, ImportLeadRecord
from leads import services
from leads.bulk import lead_bulk_upsert
from leads.models import Lead, LeadEvent, LeadSource
from leads.services import lead_upsert
from webhooks.services import nextgen_credential_issue

pytestmark = pytest.mark.django_db

MORNING_EASTERN = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 Eastern, 09:00 Central


@pytest.fixture
def clock(monkeypatch):
    moment = {"now": MORNING_EASTERN}
    monkeypatch.setattr(services, "clock", lambda: moment["now"])
    return moment


def vendor_lead(agent, **fields) -> Lead:
    incoming = {
        "phone": "+12105550199",
        "first_name": "Ana",
        "state": "TX",
        "source": LeadSource.NEXTGEN,
        "vendor_name": "NextGen Leads",
        "nextgen_id": "NG-1",
        **fields,
    }
    return lead_upsert(tenant_id=agent.pk, incoming=incoming).lead


def timeline(client, lead: Lead) -> list[dict]:
    response = client.get(f"/api/leads/{lead.pk}/timeline")
    assert response.status_code == HTTPStatus.OK
    return response.json()["results"]


def test_a_leads_story_in_time_order(agent, agent_client, clock):
    lead = vendor_lead(agent)
    vendor_lead(agent, city="San Antonio")  # the vendor sends an update
    clock["now"] += timedelta(minutes=1)
    agent_client.patch(
        f"/api/leads/{lead.pk}", {"status": "Contacted", "notes": "wants a quote"}, format="json"
    )
    clock["now"] += timedelta(minutes=1)
    attempt = agent_client.post(f"/api/leads/{lead.pk}/attempts", {}, format="json").json()
    clock["now"] += timedelta(minutes=1)
    noted = agent_client.patch(
        f"/api/leads/{lead.pk}/attempts/{attempt['id']}",
        {"outcome": "voicemail", "note": "left a message"},
        format="json",
    )
    assert noted.status_code == HTTPStatus.OK
    assert (noted.json()["outcome"], noted.json()["note"]) == ("voicemail", "left a message")
    clock["now"] += timedelta(minutes=1)
    agent_client.patch(
        f"/api/leads/{lead.pk}", {"nextFollowUpAt": "2026-12-02T10:30:00-06:00"}, format="json"
    )

    events = timeline(agent_client, lead)

    kinds = [event["kind"] for event in events]
    assert kinds[:2] == ["arrived", "vendor_update"]
    assert kinds[2:] == ["changed", "attempt", "attempt_outcome", "follow_up_set"]
    arrived, update = events[0], events[1]
    assert arrived["data"] == {"door": "NextGen", "vendor": "NextGen Leads", "nextgenId": "NG-1"}
    assert update["data"]["fields"] == ["city"]
    by_kind = {event["kind"]: event for event in events}
    assert by_kind["changed"]["by"] == agent.username
    assert by_kind["changed"]["data"] == {
        "status": {"old": "New", "new": "Contacted"},
        "notes": {"old": "", "new": "wants a quote"},
    }
    assert by_kind["attempt"]["data"]["attemptId"] == attempt["id"]
    assert by_kind["attempt_outcome"]["data"]["outcome"] == {"old": "", "new": "voicemail"}
    assert by_kind["follow_up_set"]["data"]["old"] is None
    stamps = [datetime.fromisoformat(event["at"]) for event in events]
    assert stamps == sorted(stamps)


def test_the_agents_changes_come_in_the_order_made(agent, agent_client, clock):
    lead = vendor_lead(agent)
    for status in ("Contacted", "Follow-up", "Won"):
        clock["now"] += timedelta(minutes=1)
        agent_client.patch(f"/api/leads/{lead.pk}", {"status": status}, format="json")

    changes = [e["data"]["status"] for e in timeline(agent_client, lead) if e["kind"] == "changed"]

    assert changes == [
        {"old": "New", "new": "Contacted"},
        {"old": "Contacted", "new": "Follow-up"},
        {"old": "Follow-up", "new": "Won"},
    ]


def test_a_follow_up_handled_by_a_call_is_marked_done(agent, agent_client, clock):
    lead = vendor_lead(agent)
    agent_client.patch(
        f"/api/leads/{lead.pk}", {"nextFollowUpAt": "2026-12-02T09:15:00-06:00"}, format="json"
    )
    clock["now"] += timedelta(minutes=20)
    agent_client.post(f"/api/leads/{lead.pk}/attempts", {}, format="json")

    kinds = [event["kind"] for event in timeline(agent_client, lead)]

    assert kinds[-3:] == ["follow_up_set", "attempt", "follow_up_done"]


def test_an_import_merging_a_stored_lead_records_a_vendor_update(agent, agent_client):
    lead = vendor_lead(agent)
    row = {"phone": lead.phone, "city": "Austin", "first_name": "Ana"}

    lead_bulk_upsert(tenant_id=agent.pk, rows=[row], source=LeadSource.CSV_IMPORT)

    update = timeline(agent_client, lead)[-1]
    assert update["kind"] == "vendor_update"
    assert update["data"] == {"door": "CSV Import", "fields": ["city"]}


def test_removing_a_number_from_the_list_is_on_the_timeline(agent, agent_client):
    lead = vendor_lead(agent)
    entry = agent_client.post(
        "/api/dnc", {"phone": lead.phone, "reason": "asked"}, format="json"
    ).json()
    agent_client.post(f"/api/dnc/{entry['id']}/remove", {"reason": "consented"}, format="json")

    kinds = [(e["kind"], e["data"].get("reason")) for e in timeline(agent_client, lead)]

    assert kinds[-2:] == [("do_not_call_added", "asked"), ("do_not_call_removed", "consented")]


def test_another_tenants_timeline_is_not_found(agent, other_client):
    lead = vendor_lead(agent)

    response = other_client.get(f"/api/leads/{lead.pk}/timeline")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_another_tenants_attempt_cannot_be_noted(agent, other_agent, agent_client, clock):
    mine = vendor_lead(agent)
    theirs = vendor_lead(other_agent)
    attempt = agent_client.post(f"/api/leads/{mine.pk}/attempts", {}, format="json").json()

    # The attempt id under another lead of the agent's, or under nobody's lead: absent.
    response = agent_client.patch(
        f"/api/leads/{theirs.pk}/attempts/{attempt['id']}", {"note": "x"}, format="json"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not LeadEvent.objects.filter(kind="attempt_outcome").exists()


@pytest.mark.parametrize(
    "body", [{"outcome": "maybe"}, {"note": 5}, {"at": "now"}, ["note"], {"note": "x" * 2001}]
)
def test_a_bad_attempt_note_is_refused(agent, agent_client, clock, body):
    lead = vendor_lead(agent)
    attempt = agent_client.post(f"/api/leads/{lead.pk}/attempts", {}, format="json").json()

    response = agent_client.patch(
        f"/api/leads/{lead.pk}/attempts/{attempt['id']}", body, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]


def test_the_timeline_pages(agent, agent_client, clock):
    lead = vendor_lead(agent)
    for number in range(12):
        clock["now"] += timedelta(minutes=1)
        agent_client.patch(f"/api/leads/{lead.pk}", {"notes": f"note {number}"}, format="json")

    first = agent_client.get(f"/api/leads/{lead.pk}/timeline?limit=10").json()
    second = agent_client.get(f"/api/leads/{lead.pk}/timeline?limit=10&page=2").json()

    assert first["pagination"]["total"] == 13
    assert first["results"][0]["kind"] == "arrived"
    assert [e["data"]["notes"]["new"] for e in first["results"][1:] + second["results"]] == [
        f"note {number}" for number in range(12)
    ]


def test_a_lead_from_an_import_names_the_import_in_its_arrival(
    agent, agent_client, other_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    sheet = b"Phone,First Name,State\n2105550401,Ana,TX\n2105550402,Bo,TX\n"
    # Another tenant's import of the same rows, first: its leads and record are not this one's.
    with django_capture_on_commit_callbacks(execute=True):
        other_client.post(
            "/api/csv-upload",
            {"file": SimpleUploadedFile("theirs.csv", sheet, "text/csv")},
            format="multipart",
        )
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            "/api/csv-upload",
            {"file": SimpleUploadedFile("week.csv", sheet, "text/csv")},
            format="multipart",
        )
    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.ACCEPTED), response.json()
    job = ImportJob.objects.get(tenant=agent)
    assert job.imported == 2
    lead = Lead.objects.get(tenant=agent, phone="+12105550402")

    arrived = timeline(agent_client, lead)[0]

    assert arrived["kind"] == "arrived"
    assert arrived["data"]["importId"] == job.pk
    assert arrived["data"]["door"] == lead.source


def test_a_webhook_lead_names_no_import(agent, agent_client, client):
    credential, api_key = nextgen_credential_issue(tenant=agent)
    fixture = Path(__file__).parents[1] / "webhooks" / "fixtures" / "nextgen_data.json"
    response = client.post(
        "/api/webhooks/nextgen",
        fixture.read_text(),
        content_type="application/json",
        headers={"sid": credential.sid, "apikey": api_key},
    )
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.CREATED), response.content
    lead = Lead.objects.get(pk=response.json()["leadId"])

    arrived = timeline(agent_client, lead)[0]

    assert arrived["kind"] == "arrived"
    assert arrived["data"]["door"] == "NextGen"
    assert "importId" not in arrived["data"]


def test_the_import_is_looked_up_once_per_read_not_per_event(agent, agent_client, clock):
    lead = vendor_lead(agent)
    for number in range(5):
        clock["now"] += timedelta(minutes=1)
        agent_client.patch(f"/api/leads/{lead.pk}", {"notes": f"note {number}"}, format="json")

    with CaptureQueriesContext(connection) as captured:
        events = timeline(agent_client, lead)

    assert len(events) == 6
    record_table = ImportLeadRecord._meta.db_table
    assert sum(record_table in query["sql"] for query in captured.captured_queries) == 1

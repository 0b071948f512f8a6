"""GET/POST /api/imports/{id}/undo (CONTRACT §6): take an import back, keep what changed."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from imports.models import ImportJob
from leads.events import tenant_group_name
from leads.models import Lead
from leads.services import lead_update
from tests.factories import make_lead
from tests.imports.steering import UNKNOWN_VENDOR, preview, run

pytestmark = pytest.mark.django_db

WEEK = (
    b"Phone,Email,First Name,City\n"
    b"2105550401,new1@example.com,New,Austin\n"
    b"2105550402,new2@example.com,Two,Austin\n"
    b"2105550403,new3@example.com,Three,Austin\n"
    b"2105550500,stored@example.com,Stored,Dallas\n"
)


def imported(client, upload, content: bytes = WEEK) -> dict:
    response = upload(client, content, "week.csv")
    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.ACCEPTED), response.json()
    return client.get(response.json()["url"]).json()


def test_undo_deletes_created_restores_updated_and_keeps_touched(agent_client, agent, upload):
    stored = make_lead(agent, phone="+12105550500", email="stored@example.com", city="Houston")
    job = imported(agent_client, upload)
    assert job["stats"]["imported"] == 3 and job["stats"]["updated"] == 1
    edited = Lead.objects.get(tenant=agent, phone="+12105550403")
    lead_update(lead=edited, changes={"notes": "called, interested"})

    plan = agent_client.get(f"/api/imports/{job['id']}/undo").json()

    assert plan == {"delete": 2, "restore": 1, "keep": 1, "keptLeads": [edited.pk]}
    response = agent_client.post(f"/api/imports/{job['id']}/undo")
    assert response.status_code == HTTPStatus.ACCEPTED
    body = response.json()
    assert body["status"] == "undone"
    assert body["undo"] == {"deleted": 2, "restored": 1, "kept": 1, "keptLeads": [edited.pk]}
    assert set(Lead.objects.filter(tenant=agent).values_list("pk", flat=True)) == {
        stored.pk,
        edited.pk,
    }
    stored.refresh_from_db()
    assert stored.city == "Houston"
    edited.refresh_from_db()
    assert edited.notes == "called, interested"


def test_undo_is_idempotent(agent_client, agent, upload):
    job = imported(agent_client, upload)
    first = agent_client.post(f"/api/imports/{job['id']}/undo/").json()

    second = agent_client.post(f"/api/imports/{job['id']}/undo")

    assert second.status_code == HTTPStatus.ACCEPTED
    assert second.json()["undo"] == first["undo"] == {
        "deleted": 4, "restored": 0, "kept": 0, "keptLeads": []
    }  # fmt: skip
    assert not Lead.objects.exists()


def test_a_lead_updated_by_a_later_import_is_kept(agent_client, agent, upload):
    job = imported(agent_client, upload)
    imported(agent_client, upload, b"Phone,City\n2105550401,El Paso\n")

    plan = agent_client.get(f"/api/imports/{job['id']}/undo").json()

    kept = Lead.objects.get(tenant=agent, phone="+12105550401")
    assert plan["keptLeads"] == [kept.pk]
    agent_client.post(f"/api/imports/{job['id']}/undo")
    kept.refresh_from_db()
    assert kept.city == "El Paso"


def test_after_undo_the_same_file_imports_its_leads_again(agent_client, agent, upload):
    job = imported(agent_client, upload)
    agent_client.post(f"/api/imports/{job['id']}/undo")

    again = imported(agent_client, upload)

    assert again["stats"]["imported"] == 4
    assert Lead.objects.filter(tenant=agent).count() == 4


def test_in_file_duplicates_across_batches_are_undone(agent_client, agent, upload, settings):
    settings.IMPORT_BATCH_SIZE = 2
    content = b"Phone,Email,City\n2105550601,a@example.com,A\n2105550602,,B\n2105550601,,C\n"
    job = imported(agent_client, upload, content)
    assert job["stats"]["updated"] == 1

    body = agent_client.post(f"/api/imports/{job['id']}/undo").json()

    assert body["undo"]["deleted"] == 2
    assert not Lead.objects.exists()


def test_undo_is_refused_while_the_import_runs_and_after_30_days(agent_client, agent, upload):
    job = imported(agent_client, upload)
    ImportJob.objects.filter(pk=job["id"]).update(status="running")
    assert agent_client.post(f"/api/imports/{job['id']}/undo").status_code == HTTPStatus.CONFLICT
    assert agent_client.get(f"/api/imports/{job['id']}/undo").status_code == HTTPStatus.CONFLICT

    finished = ImportJob.objects.get(pk=job["id"]).finished_at
    ImportJob.objects.filter(pk=job["id"]).update(
        status="done", finished_at=finished - timedelta(days=31)
    )

    assert agent_client.post(f"/api/imports/{job['id']}/undo").status_code == HTTPStatus.GONE
    assert Lead.objects.filter(tenant=agent).count() == 4


def test_another_tenants_import_cannot_be_undone(agent_client, other_client, upload):
    job = imported(agent_client, upload)

    assert other_client.post(f"/api/imports/{job['id']}/undo").status_code == 404
    assert other_client.get(f"/api/imports/{job['id']}/undo").status_code == 404
    assert Lead.objects.count() == 4


def test_a_steered_import_is_undone_too(agent_client, agent, django_capture_on_commit_callbacks):
    body = preview(agent_client, UNKNOWN_VENDOR)
    run(agent_client, body["id"], django_capture_on_commit_callbacks)
    assert Lead.objects.count() == 2

    agent_client.post(f"/api/imports/{body['id']}/undo")

    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_undo_tells_open_dashboards(agent_client, agent, upload, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    stored = make_lead(agent, phone="+12105550500", email="stored@example.com", city="Houston")
    job = imported(agent_client, upload)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(tenant_group_name(agent.pk), channel)

    agent_client.post(f"/api/imports/{job['id']}/undo")

    events = [async_to_sync(layer.receive)(channel)["payload"] for _ in range(4)]
    deleted = {event["leadId"] for event in events if event["type"] == "lead_deleted"}
    updated = [event["lead"] for event in events if event["type"] == "lead_updated"]
    assert len(deleted) == 3
    assert [(lead["id"], lead["city"]) for lead in updated] == [(stored.pk, "Houston")]

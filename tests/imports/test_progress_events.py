"""import_progress and import_finished reach the uploader's socket, throttled (CONTRACT §5)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile

import imports.services
from imports.models import ImportJob, ImportStatus
from imports.services import ImportProgress, import_start
from leads.consumers import LeadConsumer
from tests.factories import make_agent
from tests.imports.conftest import fixture_bytes

NEXTGEN = fixture_bytes("nextgen_export_sample.csv")


async def connected(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(LeadConsumer.as_asgi(), "/ws/leads/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def events_until_finished(communicator: WebsocketCommunicator) -> list[dict]:
    events = []
    while not events or events[-1]["type"] != "import_finished":
        events.append(await communicator.receive_json_from(timeout=10))
    return events


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_progress_and_finish_reach_only_the_uploader(settings):
    settings.IMPORT_BATCH_SIZE = 40
    alice = await sync_to_async(make_agent)("alice")
    bob = await sync_to_async(make_agent)("bob")
    mine, theirs = await connected(alice), await connected(bob)
    try:
        upload = SimpleUploadedFile("ng.csv", NEXTGEN, content_type="text/csv")
        job = await sync_to_async(import_start)(tenant=alice, upload=upload)

        events = await events_until_finished(mine)

        assert {event["type"] for event in events[:-1]} == {"import_progress"}
        first, finished = events[0]["import"], events[-1]["import"]
        assert first["id"] == finished["id"] == job.pk
        assert first["status"] == ImportStatus.RUNNING
        assert 0 < first["stats"]["processed"] < 200
        assert finished["status"] == ImportStatus.DONE
        assert finished["stats"]["processed"] == 200
        assert await theirs.receive_nothing(timeout=0.2)
    finally:
        await mine.disconnect()
        await theirs.disconnect()


@pytest.mark.django_db
def test_progress_is_sent_at_most_four_times_a_second(agent, monkeypatch):
    sent = []
    monkeypatch.setattr(
        imports.services, "send_to_tenant_on_commit", lambda tenant_id, event: sent.append(event)
    )
    job = ImportJob.objects.create(
        tenant=agent, file_name="a.csv", file_size=1, vendor="Generic", encoding="utf-8",
        delimiter=",", status=ImportStatus.RUNNING,
    )  # fmt: skip
    now = [100.0]
    progress = ImportProgress(job, clock=lambda: now[0])

    for elapsed in (0.0, 0.1, 0.2, 0.26, 0.3, 0.5, 0.52, 1.0):
        now[0] = 100.0 + elapsed
        job.processed += 1
        progress.advance()
    progress.finish()

    assert [event["import"]["stats"]["processed"] for event in sent] == [1, 4, 7, 8, 8]
    assert [event["type"] for event in sent] == ["import_progress"] * 4 + ["import_finished"]

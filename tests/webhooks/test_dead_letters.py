"""Queued fast-path leads: never dropped, dead-lettered when they truly cannot be stored,
re-driven from the admin, and stored once however often a message is delivered."""

import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from prometheus_client import REGISTRY

import webhooks.tasks
from leads.models import Lead
from tests.factories import make_agent
from tests.helpers import nextgen_body
from webhooks.models import DeadLetterStatus, QueuedLeadDeadLetter
from webhooks.tasks import FAILING_ATTEMPTS, nextgen_lead_persist, retry_delay

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
TIMEOUT = 20  # a ceiling for each expected step, not a measured delay


def persist(tenant, body: dict, stub_id: str = "stub-1"):
    return nextgen_lead_persist.apply(args=[tenant.pk, body, f"trace-{stub_id}", stub_id, 1e9])


@pytest.fixture(autouse=True)
def quick_retries(settings):
    settings.QUEUED_LEAD_RETRY_MAX_DELAY = 0.001


def dead_lettered() -> float:
    return REGISTRY.get_sample_value("crokodial_webhook_dead_letters_total") or 0.0


def test_retry_delays_double_up_to_a_cap_below_the_hold_time(settings):
    settings.QUEUED_LEAD_RETRY_MAX_DELAY = 10.0
    assert 0.125 <= retry_delay(1) <= 0.5
    assert all(5.0 <= retry_delay(attempt) <= 10.0 for attempt in (6, 10, 100, 10_000))


def test_a_lead_that_fails_revalidation_is_kept_as_a_dead_letter(agent):
    before = dead_lettered()
    body = nextgen_body(phone="", email="", phone_number="")

    persist(agent, body)

    letter = QueuedLeadDeadLetter.objects.get()
    assert (letter.tenant, letter.stub_id, letter.trace_id) == (agent, "stub-1", "trace-stub-1")
    assert letter.payload == body
    assert letter.status == DeadLetterStatus.OPEN
    assert letter.attempts == 1
    assert "ValidationError" in letter.error
    assert letter.first_seen_at.timestamp() == 1e9
    assert letter.last_seen_at >= letter.first_seen_at
    assert dead_lettered() == before + 1
    assert Lead.objects.count() == 0


def test_a_lead_that_keeps_raising_is_dead_lettered_after_its_attempts(agent, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug in the merge")

    monkeypatch.setattr(webhooks.tasks, "nextgen_lead_receive", broken)
    monkeypatch.setattr(webhooks.tasks._lead_batches, "_run_batch", lambda items: broken())

    persist(agent, nextgen_body())

    letter = QueuedLeadDeadLetter.objects.get()
    assert letter.attempts == FAILING_ATTEMPTS
    assert "RuntimeError: a bug in the merge" in letter.error


def test_the_same_dead_letter_twice_is_one_record_with_its_attempts_added(agent):
    body = nextgen_body(phone="", email="", phone_number="")
    persist(agent, body)
    persist(agent, body)

    letter = QueuedLeadDeadLetter.objects.get()
    assert letter.attempts == 2


def test_staff_fix_and_redrive_a_dead_letter_from_the_admin(
    agent, django_capture_on_commit_callbacks
):
    persist(agent, nextgen_body(phone="", email="", phone_number=""))
    letter = QueuedLeadDeadLetter.objects.get()
    letter.payload = nextgen_body()  # staff corrected it in the change form
    letter.save()
    browser = Client()
    browser.force_login(make_agent("root", is_admin=True))
    changelist = "/admin/webhooks/queuedleaddeadletter/"

    assert browser.get(changelist).status_code == 200
    assert browser.get(f"{changelist}{letter.pk}/change/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        answer = browser.post(
            changelist, {"action": "redrive", "_selected_action": [letter.pk]}, follow=True
        )

    assert answer.status_code == 200
    assert "1 queued again" in answer.content.decode()
    letter.refresh_from_db()
    assert (letter.status, letter.redrive_count) == (DeadLetterStatus.REDRIVEN, 1)
    assert letter.redriven_at is not None
    assert Lead.objects.filter(tenant=agent, phone="+12104611180").count() == 1


def test_a_lead_delivered_three_times_in_a_row_is_stored_once(agent):
    for _ in range(3):
        persist(agent, nextgen_body())

    assert Lead.objects.filter(tenant=agent).count() == 1
    assert not QueuedLeadDeadLetter.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lead_delivered_three_times_at_once_is_stored_once(agent):
    bodies = [nextgen_body(lead_id=f"TWICE-{n}", phone=f"210-557-{n:04d}") for n in range(20)]
    start = threading.Barrier(3)
    problems: list[BaseException] = []

    def deliver_all() -> None:
        try:
            start.wait(TIMEOUT)
            for number, body in enumerate(bodies):
                persist(agent, {**body, "email": f"twice{number}@example.com"}, f"stub-{number}")
        except BaseException as error:
            problems.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_all) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 3)

    assert problems == []
    stored = Lead.objects.filter(tenant=agent, nextgen_id__startswith="TWICE-")
    assert stored.count() == 20
    assert stored.values("nextgen_id").distinct().count() == 20
    assert not QueuedLeadDeadLetter.objects.exists()

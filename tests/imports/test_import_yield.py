"""Imports give way to hot leads: between batches a run pauses while fast-path leads wait in
the broker's `leads` queue (a real Redis), up to a cap, and a broker that does not answer never
holds up or fails an import. docs/operations.md, "Queues"."""

import json
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from crokodial.queues import LEADS_QUEUE, PUBLISHED_HEADER, hot_leads_waiting
from imports.models import ImportStatus
from imports.priority import hot_work_waiting, yield_to_hot_work
from imports.services import import_run, import_start
from leads.models import Lead
from tests.imports.conftest import csv_upload

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


class Clock:
    """A settable clock whose sleep moves it on, and runs `on_sleep` (the worker taking work)."""

    def __init__(self, on_sleep=lambda: None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()


@pytest.fixture
def broker():
    """A Redis database of its own on the test Redis, standing for the Celery broker."""
    parts = urlsplit(settings.REDIS_URL)
    url = urlunsplit(parts._replace(path="/13"))
    client = redis.Redis.from_url(url)
    client.delete(LEADS_QUEUE)
    yield url, client
    client.delete(LEADS_QUEUE)
    client.close()


def publish(client, count: int, age: float = 0.0) -> None:
    for _ in range(count):
        body = {"headers": {PUBLISHED_HEADER: time.time() - age}, "body": ""}
        client.lpush(LEADS_QUEUE, json.dumps(body))


@pytest.mark.redis
def test_an_import_waits_while_leads_wait_and_goes_on_once_the_queue_is_empty(broker):
    url, client = broker
    publish(client, 3)
    clock = Clock(on_sleep=lambda: client.rpop(LEADS_QUEUE))  # the leads worker takes one

    waited = yield_to_hot_work(
        waiting=lambda: hot_leads_waiting(url), clock=clock, sleep=clock.sleep, step=0.05, cap=2
    )

    assert clock.sleeps == [0.05, 0.05, 0.05]
    assert waited == pytest.approx(0.15)
    assert client.llen(LEADS_QUEUE) == 0


@pytest.mark.redis
def test_an_import_waits_no_longer_than_the_cap_while_leads_keep_waiting(broker):
    url, client = broker
    publish(client, 5)
    clock = Clock()

    waited = yield_to_hot_work(
        waiting=lambda: hot_leads_waiting(url), clock=clock, sleep=clock.sleep, step=0.05, cap=2
    )

    assert waited == pytest.approx(2)
    assert sum(clock.sleeps) == pytest.approx(2)
    assert max(clock.sleeps) <= 0.05
    assert client.llen(LEADS_QUEUE) == 5


@pytest.mark.redis
def test_an_empty_leads_queue_does_not_hold_an_import(broker):
    url, _ = broker
    clock = Clock()

    assert yield_to_hot_work(
        waiting=lambda: hot_leads_waiting(url), clock=clock, sleep=clock.sleep, cap=2
    ) == 0  # fmt: skip
    assert clock.sleeps == []


@pytest.mark.redis
def test_the_thresholds_tell_when_leads_are_waiting(broker, settings):
    url, client = broker
    settings.IMPORT_YIELD_DEPTH = 2
    settings.IMPORT_YIELD_AGE_MS = 100
    publish(client, 2)
    assert not hot_leads_waiting(url)  # two waiting, both fresh
    publish(client, 1)
    assert hot_leads_waiting(url)  # more than two
    client.delete(LEADS_QUEUE)
    publish(client, 1, age=1.0)
    assert hot_leads_waiting(url)  # one, but older than 100 ms


@pytest.mark.redis
def test_with_no_broker_the_check_is_a_no_op(broker, settings):
    url, client = broker
    publish(client, 5)
    settings.CELERY_BROKER_URL = url
    settings.BROKER_IS_REDIS = True
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: tasks run in-process
    assert not hot_leads_waiting()
    assert not hot_work_waiting()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert hot_work_waiting()


def test_a_broker_that_does_not_answer_means_nothing_waits(settings):
    settings.CELERY_BROKER_URL = DEAD_BROKER
    settings.BROKER_IS_REDIS = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert not hot_leads_waiting()
    assert not hot_leads_waiting(DEAD_BROKER)
    clock = Clock()
    assert yield_to_hot_work(clock=clock, sleep=clock.sleep) == 0

    def broken() -> bool:
        raise RuntimeError("the check itself is broken")

    settings.IMPORT_HOT_WORK_CHECK = "tests.imports.test_import_yield.no_such_check"
    assert not hot_work_waiting()
    assert yield_to_hot_work(waiting=broken, clock=clock, sleep=clock.sleep) == 0


@pytest.mark.django_db
def test_an_import_with_a_dead_broker_completes(settings, django_user_model,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    settings.CELERY_BROKER_URL = DEAD_BROKER
    settings.BROKER_IS_REDIS = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.IMPORT_BATCH_SIZE = 2  # several batches, a check before each
    tenant = django_user_model.objects.create_user("yield-tenant", password="x")
    rows = "".join(f"Lead {n},555{n:07d},lead{n}@example.com\n" for n in range(7))
    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet run
        job = import_start(tenant=tenant, upload=csv_upload(f"name,phone,email\n{rows}".encode()))

    job = import_run(job=job)

    assert job.status == ImportStatus.DONE
    assert job.imported == 7
    assert Lead.objects.filter(tenant=tenant).count() == 7

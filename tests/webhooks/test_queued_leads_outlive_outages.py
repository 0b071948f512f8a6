"""Queued leads against real failures: a database outage longer than any retry limit, a dead
letter that must wait for the database, and the same message handed to two workers at once."""

import json
import re
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kombu import Connection

from crokodial.celery import app as celery_app
from crokodial.queues import LEADS_QUEUE
from leads.models import Lead
from tests.faults import manage, private_postgres, private_redis
from tests.helpers import wait_for
from tests.server import celery_worker, shared_database_env
from webhooks.models import QueuedLeadDeadLetter
from webhooks.tasks import nextgen_lead_persist

FIXTURES = Path(__file__).parent / "fixtures"
TIMEOUT = 90  # a ceiling for each expected step, not a measured delay
# Celery's old limit for this task was 10 retries (about 17 minutes of backoff).
OLD_MAX_RETRIES = 10


def sample(number: int, **overrides: Any) -> dict[str, Any]:
    return {
        **json.loads((FIXTURES / "nextgen_data.json").read_text()),
        "lead_id": f"OUTAGE-{number}",
        "phone": f"210-558-{number:04d}",
        "email": f"outage{number}@example.com",
        **overrides,
    }


def _query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=2) as database:
        return database.execute(sql).fetchall()


def _publish(broker_url: str, messages: list[list[Any]]) -> None:
    with Connection(broker_url, transport="crokodial.broker:Transport") as broker:
        for args in messages:
            nextgen_lead_persist.apply_async(args=args, connection=broker, retry=False)


@pytest.mark.postgres
@pytest.mark.redis
def test_queued_leads_wait_out_a_database_outage_and_a_dead_letter_waits_for_the_database():
    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    with private_postgres() as database, private_redis() as redis:
        manage(["create_agent", "alice", "--password", "pw-alice-123"], DATABASE_URL=database.url)
        [(tenant_id,)] = _query(database.url, "SELECT id FROM auth_user WHERE username='alice'")
        env = {
            "DATABASE_URL": database.url,
            "REDIS_URL": redis.url,
            "DJANGO_SECRET_KEY": "fault-test-secret",
            "USE_FAST_PATH": "1",
            "DATABASE_POOL_TIMEOUT": "1",
            # Held at most 1 s, then republished: many republishes in a short outage.
            "CELERY_VISIBILITY_TIMEOUT": "2",
        }
        total = 5
        messages = [
            [tenant_id, sample(n), f"trace-{n}", f"stub-{n}", time.time()] for n in range(total)
        ]
        unstorable = sample(total, phone="", email="", phone_number="")
        messages.append([tenant_id, unstorable, "trace-dead", "stub-dead", time.time()])
        with celery_worker(env, concurrency=8, wait_ready=True) as worker:
            database.stop()
            _publish(redis.url, messages)
            log = Path(worker.log_path)
            # Well past the old retry limit, for every lead.
            assert wait_for(
                lambda: log.read_text().count("retry: Retry in 0s") > OLD_MAX_RETRIES * (total + 1),
                TIMEOUT,
            ), log.read_text()[-3000:]
            database.start()

            def stored() -> int:
                return _query(
                    database.url, "SELECT count(*) FROM leads_lead WHERE nextgen_id LIKE 'OUTAGE-%'"
                )[0][0]

            def dead_letters() -> list[tuple]:
                return _query(
                    database.url, "SELECT stub_id, attempts FROM webhooks_queuedleaddeadletter"
                )

            assert wait_for(lambda: stored() >= total and dead_letters(), TIMEOUT), log.read_text()[
                -3000:
            ]
            worker_log = log.read_text()
        assert stored() == total
        assert _query(
            database.url,
            "SELECT count(DISTINCT nextgen_id) FROM leads_lead WHERE nextgen_id LIKE 'OUTAGE-%'",
        ) == [(total,)]
        [(stub_id, attempts)] = dead_letters()
        assert stub_id == "stub-dead"
        assert attempts > 1  # recorded only once the database was back
        # Never failed (and so acknowledged): only stored, republished or dead-lettered.
        assert not re.search(r"nextgen_lead_persist\[[^]]+\] raised", worker_log)


def _queued() -> int:
    with celery_app.connection_for_write() as broker:
        try:
            return broker.default_channel.queue_declare(LEADS_QUEUE, passive=True).message_count
        except broker.channel_errors:  # Redis: an empty queue does not exist
            return 0


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_each_message_handed_to_two_workers_three_times_stores_one_lead(agent):
    env = shared_database_env(USE_FAST_PATH="1")
    celery_app.conf.task_always_eager = False  # restored by the eager_celery fixture
    celery_app.control.purge()
    total = 200
    for _copy in range(3):
        for number in range(total):
            args = [agent.pk, sample(number), f"trace-{number}", f"stub-{number}", time.time()]
            nextgen_lead_persist.apply_async(args=args)
    stored = Lead.objects.filter(tenant=agent, nextgen_id__startswith="OUTAGE-")

    with celery_worker(env, concurrency=16), celery_worker(env, concurrency=16):
        assert wait_for(lambda: stored.count() >= total, TIMEOUT), stored.count()
        assert wait_for(lambda: _queued() == 0, TIMEOUT)

    assert stored.count() == total
    assert stored.values("nextgen_id").distinct().count() == total
    assert not QueuedLeadDeadLetter.objects.exists()

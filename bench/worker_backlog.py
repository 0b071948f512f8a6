"""Fast-path worker throughput: queue a backlog of leads, then time a worker draining it.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python bench/worker_backlog.py \
        --leads 10000 --pools "prefork:2,threads:8"

For each worker configuration: purge the queue, enqueue `--leads` tasks exactly as the webhook's
fast path does, start `celery -A crokodial worker` with that pool, and report the leads stored
per second once the first one lands (so worker start-up is not counted). The pickup latency of
a live stream is in bench/webhook_latency.py --fast-path (stub → persisted event).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from crokodial.celery import app as celery_app  # noqa: E402
from leads.models import Lead  # noqa: E402
from webhooks.tasks import nextgen_lead_persist  # noqa: E402

USERNAME = "bench_backlog_agent"


def body(number: int) -> dict:
    return {
        "lead_id": f"BACKLOG-{number}",
        "first_name": "Backlog",
        "last_name": f"Lead {number}",
        "email": f"backlog.{number}@example.com",
        "phone": f"+1 210 {200 + number // 10000:03d} {number % 10000:04d}",
        "state": "TX",
        "zip_code": "78201",
        "product": "data",
        "price": "45.00",
    }


def run(pool: str, concurrency: int, leads: int, tenant_id: int) -> dict:
    stored = Lead.objects.filter(tenant_id=tenant_id)
    stored.delete()
    celery_app.control.purge()
    started = time.perf_counter()
    for number in range(leads):
        nextgen_lead_persist.apply_async(
            args=[tenant_id, body(number), f"backlog-{number}", f"stub-{number}", time.time()]
        )
    enqueue_seconds = time.perf_counter() - started
    connection.close()

    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "crokodial",
        "worker",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "WARNING",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    worker = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        while not stored.exists():
            time.sleep(0.01)
        first = time.perf_counter()
        first_count = stored.count()
        deadline = first + 600
        while (count := stored.count()) < leads and time.perf_counter() < deadline:
            time.sleep(0.05)
        drained = time.perf_counter() - first
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    return {
        "pool": f"{pool}:{concurrency}",
        "leads": leads,
        "stored": count,
        "enqueue_per_s": round(leads / enqueue_seconds),
        "drain_per_s": round((count - first_count) / drained),
        "drain_seconds": round(drained, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--pools", default="prefork:2,threads:8")
    args = parser.parse_args()
    agent, _ = get_user_model().objects.get_or_create(username=USERNAME)
    results = []
    for spec in args.pools.split(","):
        pool, concurrency = spec.split(":")
        result = run(pool, int(concurrency), args.leads, agent.pk)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(
        "\n| worker pool | leads | drained per s | seconds | enqueue per s |\n|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r['pool']} | {r['stored']}/{r['leads']} | {r['drain_per_s']} "
            f"| {r['drain_seconds']} | {r['enqueue_per_s']} |"
        )


if __name__ == "__main__":
    main()

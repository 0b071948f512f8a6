"""Fast-path worker throughput: queue a backlog of leads, then time a worker draining it.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python bench/worker_backlog.py \
        --leads 10000 --pools "threads:8,threads:32"

For each worker configuration: purge the queue, enqueue `--leads` tasks exactly as the webhook's
fast path does, start `celery -A crokodial worker` with that pool, and report the leads stored
per second once the first one lands (so worker start-up is not counted), with the CPU the
worker's processes and PostgreSQL's backends spent per lead over the same span: on a shared
machine throughput moves with the neighbours' load, CPU per lead much less. The pickup latency
of a live stream is in bench/webhook_latency.py --fast-path (stub → persisted event).

Runs must not overlap: each one purges the queue and deletes the bench tenant's leads.
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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _session_pids(session: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[3]) == session:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def _database_backend_pids() -> list[int]:
    """The server processes of this database's other connections: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def cpu_snapshot(session: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the worker's processes and of PostgreSQL's backends serving it.

    The machine is shared, so throughput alone moves with the neighbours' load; CPU per lead
    does not (as long as the backends are local to this machine).
    """
    return {
        "worker": {pid: _cpu_seconds(pid) for pid in _session_pids(session)},
        "postgres": {pid: _cpu_seconds(pid) for pid in _database_backend_pids()},
    }


def cpu_ms_per_lead(before: dict, after: dict, leads: int) -> dict[str, float]:
    used = {}
    for part, now in after.items():
        seconds = sum(cpu - before[part].get(pid, 0.0) for pid, cpu in now.items())
        used[part] = round(1000 * seconds / max(leads, 1), 2)
    return used


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
        cpu_before = cpu_snapshot(worker.pid)
        deadline = first + 600
        while (count := stored.count()) < leads and time.perf_counter() < deadline:
            time.sleep(0.05)
        drained = time.perf_counter() - first
        cpu = cpu_ms_per_lead(cpu_before, cpu_snapshot(worker.pid), count - first_count)
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
        "worker_cpu_ms_per_lead": cpu["worker"],
        "postgres_cpu_ms_per_lead": cpu["postgres"],
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--pools", default="threads:8,threads:32")
    args = parser.parse_args()
    agent, _ = get_user_model().objects.get_or_create(username=USERNAME)
    results = []
    for spec in args.pools.split(","):
        pool, concurrency = spec.split(":")
        result = run(pool, int(concurrency), args.leads, agent.pk)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(
        "\n| worker pool | leads | drained per s | seconds | worker CPU ms per lead "
        "| PostgreSQL CPU ms per lead | load average |\n|---|---|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r['pool']} | {r['stored']}/{r['leads']} | {r['drain_per_s']} "
            f"| {r['drain_seconds']} | {r['worker_cpu_ms_per_lead']} "
            f"| {r['postgres_cpu_ms_per_lead']} | {r['load_average']} |"
        )


if __name__ == "__main__":
    main()

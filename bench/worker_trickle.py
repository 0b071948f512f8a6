"""Fast-path worker cost per lead under a live trickle, not a backlog.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python bench/worker_trickle.py \
        --rate 200 --seconds 15 [--root ../other-checkout] [--queues leads,celery]

Starts one Celery worker (the Procfile's leads worker: thread pool, CELERY_CONCURRENCY) on the
checkout given by --root (this one by default, so an older commit's worktree can be measured
side by side with the same script), warms it, then enqueues leads exactly as the webhook's
fast path does at --rate for --seconds, waits until all are stored, and prints the CPU the
worker and PostgreSQL's backends spent per lead, and the Redis commands per lead (all clients,
this one's enqueueing included). Live traffic makes small batches, so this is where per-task
and per-batch costs show; `worker_backlog.py` measures big batches. No web process runs: the
worker's figures are not disturbed by the web's CPU, only by the machine's other load.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
parser.add_argument("--rate", type=float, default=200)
parser.add_argument("--seconds", type=float, default=15)
parser.add_argument("--queues", default="", help="the worker's --queues (none: its default)")
args = parser.parse_args()
ROOT = args.root.resolve()
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from crokodial.celery import app as celery_app  # noqa: E402
from leads.models import Lead  # noqa: E402
from webhooks.tasks import nextgen_lead_persist  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARM_LEADS = 200


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


def _backend_pids() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _snapshot(session: int) -> dict[str, dict[int, float]]:
    return {
        "worker": {pid: _cpu_seconds(pid) for pid in _session_pids(session)},
        "postgres": {pid: _cpu_seconds(pid) for pid in _backend_pids()},
    }


def _body(number: int, run: int) -> dict:
    return {
        "lead_id": f"TRICKLE-{run}-{number}",
        "first_name": "Trickle",
        "last_name": f"Lead {number}",
        "email": f"trickle.{run}.{number}@example.com",
        "phone": f"+1 210 {200 + (number // 10000) % 700:03d} {number % 10000:04d}",
        "state": "TX",
        "zip_code": "78201",
        "product": "data",
        "price": "45.00",
    }


def _enqueue(tenant_id: int, number: int, run: int) -> None:
    nextgen_lead_persist.apply_async(
        args=[tenant_id, _body(number, run), f"trickle-{number}", f"stub-{number}", time.time()],
        argsrepr="[<lead>]",
        kwargsrepr="{}",
    )


def main() -> None:
    agent, _ = get_user_model().objects.get_or_create(username="bench_trickle_agent")
    stored = Lead.objects.filter(tenant_id=agent.pk)
    stored.delete()
    celery_app.control.purge()
    command = [sys.executable, "-m", "celery", "-A", "crokodial", "worker", "--loglevel"]
    command += ["WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    if args.queues:
        command += ["--queues", args.queues]
    worker = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    run = int(time.time())
    leads = int(args.rate * args.seconds)
    try:
        for number in range(WARM_LEADS):
            _enqueue(agent.pk, leads + number, run)
            time.sleep(1 / args.rate)
        while stored.count() < WARM_LEADS:
            time.sleep(0.05)
        broker = redis.Redis.from_url(os.environ["REDIS_URL"])
        broker.config_resetstat()
        before = _snapshot(worker.pid)
        started = time.perf_counter()
        for number in range(leads):
            delay = started + number / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _enqueue(agent.pk, number, run)
        deadline = started + args.seconds + 120
        while stored.count() < leads + WARM_LEADS and time.perf_counter() < deadline:
            time.sleep(0.05)
        after = _snapshot(worker.pid)
        commands = broker.info("commandstats")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    result = {"root": str(ROOT), "leads": leads, "stored": stored.count() - WARM_LEADS}
    for part, now in after.items():
        used = sum(cpu - before[part].get(pid, 0.0) for pid, cpu in now.items())
        result[f"{part}_cpu_ms_per_lead"] = round(1000 * used / leads, 2)
    calls = sum(v["calls"] for name, v in commands.items() if "resetstat" not in name)
    result["redis_commands_per_lead"] = round(calls / leads, 1)
    result["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

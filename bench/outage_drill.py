"""Outage drill: the fast path keeps acknowledging leads while PostgreSQL is away.

Starts a private PostgreSQL and Redis (tests.faults), the Procfile's uvicorn with two workers and
the fast path on, and a Celery worker; a vendor sends leads at a fixed rate; PostgreSQL is
stopped for `--outage` seconds in the middle and started again. Then it waits until every
acknowledged lead is stored and reports: answers by status during and outside the outage, the
slowest answer, leads acknowledged, stored, stored twice, and how long the backlog took to drain.

    .venv/bin/python bench/outage_drill.py --outage 120 --rate 10
"""

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults import manage, private_postgres, private_redis  # noqa: E402
from tests.server import celery_worker, live_server  # noqa: E402

SEED = """
import json
from django.contrib.auth import get_user_model
from webhooks.services import nextgen_credential_issue
agent = get_user_model().objects.create_user("drill", "drill@example.com", "drill-password-1")
credential, api_key = nextgen_credential_issue(tenant=agent)
print(json.dumps({"sid": credential.sid, "apikey": api_key, "tenant": agent.pk}))
"""
SAMPLE = json.loads((ROOT / "tests/webhooks/fixtures/nextgen_data.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="leads per second")
    parser.add_argument("--before", type=float, default=15.0, help="seconds before the outage")
    parser.add_argument("--outage", type=float, default=120.0, help="seconds PostgreSQL is down")
    parser.add_argument("--after", type=float, default=15.0, help="seconds after it returns")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    args = parser.parse_args()

    with private_postgres() as postgres, private_redis(appendonly=True) as redis_server:
        env = {
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis_server.url,
            "DJANGO_SECRET_KEY": "drill-secret",
            "USE_FAST_PATH": "1",
        }
        seed = json.loads(manage(["shell", "-c", SEED], **env).stdout.strip().splitlines()[-1])
        headers = {"sid": seed["sid"], "apikey": seed["apikey"]}
        with live_server(env, procfile=True, workers=2) as base_url, celery_worker(env):
            answers: list[tuple[str, int, float, str]] = []
            phase = ["before"]
            stop = threading.Event()

            def vendor() -> None:
                number = 0
                with httpx.Client(timeout=10) as http:
                    next_at = time.monotonic()
                    while not stop.is_set():
                        lead = f"DRILL-{number}"
                        body = {**SAMPLE, "lead_id": lead, "phone": f"210-555-{number:04d}",
                                "email": f"{lead.lower()}@example.com"}  # fmt: skip
                        sent_in, started = phase[0], time.perf_counter()
                        try:
                            status = http.post(
                                f"{base_url}/api/webhooks/nextgen", json=body, headers=headers
                            ).status_code
                        except httpx.HTTPError:
                            status = 0
                        answers.append((sent_in, status, time.perf_counter() - started, lead))
                        number += 1
                        next_at += 1 / args.rate
                        time.sleep(max(0.0, next_at - time.monotonic()))

            sender = threading.Thread(target=vendor)
            sender.start()
            time.sleep(args.before)
            phase[0] = "outage"
            postgres.stop()
            time.sleep(args.outage)
            postgres.start()
            phase[0] = "after"
            time.sleep(args.after)
            stop.set()
            sender.join()

            acknowledged = {lead for _, status, _, lead in answers if 200 <= status < 300}
            drain_started = time.monotonic()
            stored: Counter[str] = Counter()
            while time.monotonic() - drain_started < args.drain_timeout:
                with psycopg.connect(postgres.url) as conn:
                    rows = conn.execute(
                        "SELECT nextgen_id FROM leads_lead WHERE tenant_id = %s", [seed["tenant"]]
                    ).fetchall()
                stored = Counter(row[0] for row in rows)
                if acknowledged <= set(stored):
                    break
                time.sleep(1)
            drained_in = time.monotonic() - drain_started

    print(f"rate {args.rate}/s, PostgreSQL down {args.outage:g} s")
    for name in ("before", "outage", "after"):
        those = [a for a in answers if a[0] == name]
        statuses = Counter(status for _, status, _, _ in those)
        seconds = sorted(s for _, _, s, _ in those)
        p95 = seconds[int(0.95 * (len(seconds) - 1))] if seconds else 0
        median = statistics.median(seconds) if seconds else 0
        print(f"  {name:7} answers {len(those):5}  statuses {dict(statuses)}  "
              f"median {median * 1000:.1f} ms  p95 {p95 * 1000:.1f} ms  "
              f"max {max(seconds, default=0) * 1000:.1f} ms")  # fmt: skip
    missing = acknowledged - set(stored)
    doubled = [lead for lead, times in stored.items() if times > 1]
    print(f"  acknowledged {len(acknowledged)}, stored {len(set(stored) & acknowledged)}, "
          f"missing {len(missing)}, stored twice {len(doubled)}, "
          f"backlog drained {drained_in:.1f} s after the vendor stopped")  # fmt: skip


if __name__ == "__main__":
    main()

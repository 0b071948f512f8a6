"""CPU per webhook delivery, in one process: the number that decides how many posts/s fit.

On two cores the web processes, PostgreSQL, Redis and the load generator share the machine, so
the intake rate is bounded by the CPU one delivery costs the web process. This bench drives the
real ASGI application (`crokodial.asgi.application`) in-process — lean webhook route, thread
pool, upsert, event published to Redis — and reports CPU milliseconds per delivery (process CPU
time, all threads), which a busy machine disturbs far less than wall-clock latency.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python bench/webhook_cpu.py --leads 2000 \
        [--in-flight 8] [--profile] [--dnc-list 50000]

--without-dnc-check swaps the EXISTS probe of the list in the new-lead INSERT for a constant
false with the same parameters: the check's own cost, A/B in the same code.
--dnc-list N gives the bench agent a do-not-call list of N numbers first, every 100th delivered
phone among them, so each delivery's check probes a realistic list and some leads are flagged.

--profile runs the synchronous part (`nextgen_webhook_answer`) under cProfile instead and prints
the top functions by cumulative time.
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")

import django  # noqa: E402
import django.utils.timezone  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from crokodial.asgi import application  # noqa: E402
from leads.models import Lead  # noqa: E402
from webhooks.intake import nextgen_webhook_answer  # noqa: E402
from webhooks.models import NextGenCredential  # noqa: E402
from webhooks.services import nextgen_credential_issue  # noqa: E402

SAMPLE = json.loads((ROOT.parent / "shared/samples/nextgen_webhook_sample.json").read_text())
USERNAME = "bench_cpu_agent"


def credentials() -> tuple[str, str, int]:
    user_model = get_user_model()
    agent, _ = user_model.objects.get_or_create(username=USERNAME)
    NextGenCredential.objects.filter(tenant=agent).delete()
    Lead.objects.filter(tenant=agent).delete()
    credential, api_key = nextgen_credential_issue(tenant=agent)
    return credential.sid, api_key, agent.pk


def bench_phone(number: int) -> str:
    return f"(210) {300 + number // 10000:03d}-{number % 10000:04d}"


def dnc_list(tenant_id: int, size: int, delivered: int) -> None:
    """Give the agent `size` listed numbers: every 100th delivered phone, the rest elsewhere."""
    from leads.models import DoNotCallEntry
    from leads.normalize import normalize_phone

    DoNotCallEntry.objects.filter(tenant_id=tenant_id).delete()
    phones = {normalize_phone(bench_phone(number)) for number in range(0, delivered, 100)}
    number = 0
    while len(phones) < size:
        phones.add(f"+1312{2000000 + number:07d}")
        number += 1
    now = django.utils.timezone.now()
    DoNotCallEntry.objects.bulk_create(
        [
            DoNotCallEntry(
                tenant_id=tenant_id, phone=phone, reason="bench", source="upload", added_at=now
            )
            for phone in phones
        ],  # fmt: skip
        batch_size=5000,
    )
    from django.db import connection

    with connection.cursor() as cursor:  # as autovacuum would have, long before
        cursor.execute(f"VACUUM ANALYZE {DoNotCallEntry._meta.db_table}")


def database_cpu_seconds() -> float:
    """CPU used so far by every PostgreSQL backend connected to this database (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend'"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def without_dnc_check() -> None:
    from leads import services

    services._INSERT_SQL = services._INSERT_SQL.replace(
        services._LISTED_SQL, "(%s::integer IS NULL AND %s::text IS NULL)"
    )


def bodies(count: int, first: int = 0) -> list[bytes]:
    run = uuid.uuid4().hex[:8]
    out = []
    for number in range(first, first + count):
        body = dict(SAMPLE)
        body.update(
            lead_id=f"CPU-{run}-{number}",
            email=f"cpu.{run}.{number}@example.com",
            phone=bench_phone(number),
        )
        out.append(json.dumps(body).encode())
    return out


def scope(sid: str, api_key: str, body: bytes) -> dict:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"sid", sid.encode()),
        (b"apikey", api_key.encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/webhooks/nextgen",
        "raw_path": b"/api/webhooks/nextgen",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def deliver(sid: str, api_key: str, body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await application(scope(sid, api_key, body), receive, send)
    return status


async def run_app(sid: str, api_key: str, payloads: list[bytes], in_flight: int) -> list[int]:
    queue = list(reversed(payloads))
    statuses: list[int] = []

    async def lane() -> None:
        while queue:
            statuses.append(await deliver(sid, api_key, queue.pop()))

    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dnc-list", type=int, default=0)
    parser.add_argument("--without-dnc-check", action="store_true")
    args = parser.parse_args()
    if args.without_dnc_check:
        without_dnc_check()

    sid, api_key, tenant_id = credentials()
    if args.dnc_list:
        dnc_list(tenant_id, args.dnc_list, args.leads)
    warm, payloads = bodies(200, first=args.leads), bodies(args.leads)
    if args.profile:
        headers = {"sid": sid, "apikey": api_key, "content-type": "application/json"}
        for body in warm:
            nextgen_webhook_answer(headers=headers, body=body)
        profiler = cProfile.Profile()
        profiler.enable()
        for body in payloads:
            nextgen_webhook_answer(headers=headers, body=body)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return

    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(run_app(sid, api_key, warm, args.in_flight))
    database_cpu = database_cpu_seconds()
    cpu, wall = time.process_time(), time.perf_counter()
    statuses = loop.run_until_complete(run_app(sid, api_key, payloads, args.in_flight))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    database_cpu = database_cpu_seconds() - database_cpu
    stored = Lead.objects.filter(tenant_id=tenant_id).count()
    print(
        json.dumps(
            {
                "leads": args.leads,
                "created": statuses.count(201),
                "other_statuses": sorted(set(statuses) - {201}),
                "stored": stored,
                "do_not_call": Lead.objects.filter(tenant_id=tenant_id, do_not_call=True).count()
                if args.dnc_list
                else 0,
                "cpu_ms_per_delivery": round(cpu / args.leads * 1000, 3),
                "database_cpu_ms_per_delivery": round(database_cpu / args.leads * 1000, 3),
                "wall_ms_per_delivery": round(wall / args.leads * 1000, 3),
                "deliveries_per_cpu_second": round(args.leads / cpu),
            }
        )
    )


if __name__ == "__main__":
    main()

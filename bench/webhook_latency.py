"""Webhook-to-screen latency of a running Crokodial stack, at fixed post rates.

Starts nothing itself: point it at a stack (the Procfile's processes on PostgreSQL + Redis) that
shares DATABASE_URL with this script. It creates two bench agents with NextGen credentials, logs
both in, opens one WebSocket per agent, then sends an open-loop (fixed-rate, not waiting for
answers) stream of unique leads at each rate, alternating between the two agents, and reports per
rate: sent, acknowledged, stored (counted in the database), delivered to the right socket, and
latency percentiles from POST sent to event received, and to the acknowledgement.

    DATABASE_URL=postgres://… python bench/webhook_latency.py --url http://127.0.0.1:8000 \
        --rates 50,100,200,400 --seconds 60 [--fast-path] [--json results.json]

With --fast-path the stack must run with USE_FAST_PATH=1; the bench then also times the
`lead_stub` event and the persisted event that replaces it.

With --during-import FILE (fast path), a third agent uploads FILE through /api/csv-upload
before each rate and again each time its import ends, so an import runs for the whole rate:
run it with and without, side by side, to see what an import costs the fast path's leads.

With --watch NAME=PGID (repeatable; bench/run.sh passes the stack's process groups), each rate
also reports the CPU milliseconds those processes, PostgreSQL's and this client's spent per
lead sent: on two shared cores that, more than latency, says how far a rate can go.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-not-secret"
MAX_CONNECTIONS = 256
SETTLE_SECONDS = 10
IDLE_REUSE_SECONDS = 3  # under uvicorn's 5 s keep-alive timeout
CONNECTION_ERROR = -1  # a sample's status when the connection failed; 0 means no answer yet


@dataclass
class Sample:
    sent_at: float
    tenant: int
    acked_at: float | None = None
    status: int = 0
    event_at: float | None = None
    stub_at: float | None = None


@dataclass
class RateRun:
    rate: int
    samples: dict[str, Sample] = field(default_factory=dict)
    wrong_tenant_events: int = 0
    duplicate_events: int = 0


def cpu_seconds(watched: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each watched process group, PostgreSQL and this process."""
    ticks = dict.fromkeys([*watched, "postgres"], 0)
    groups = {pgid: name for name, pgid in watched.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended while we looked
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        name = groups.get(int(fields[2])) or ("postgres" if comm == "postgres" else None)
        if name:
            ticks[name] += int(fields[11]) + int(fields[12])
    seconds = {name: count / os.sysconf("SC_CLK_TCK") for name, count in ticks.items()}
    seconds["client"] = time.process_time()
    return seconds


def manage(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def bench_agent(username: str) -> tuple[str, str]:
    """Create (once) a bench agent and give it fresh NextGen credentials."""
    try:
        manage("create_agent", username, "--password", PASSWORD)
    except subprocess.CalledProcessError as error:
        if "already exists" not in error.stderr:
            raise
    credentials = json.loads(manage("nextgen_credentials", username, "--rotate", "--json"))
    return credentials["sid"], credentials["apikey"]


class RawHttpClient:
    """A tiny keep-alive HTTP/1.1 client: the load generator must cost far less than the server."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.open_connections = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, idle_since = self.idle.pop()
            if time.monotonic() - idle_since < IDLE_REUSE_SECONDS:
                return reader, writer
            writer.close()  # the server may already have closed it (keep-alive timeout)
            self.open_connections -= 1
        self.open_connections += 1
        return await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, headers: dict, body: bytes
    ) -> tuple[int, bytes]:
        reader, writer = await self._connection()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        try:
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            payload = await reader.readexactly(length)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            writer.close()
            self.open_connections -= 1
            return CONNECTION_ERROR, b""
        if close:
            writer.close()
            self.open_connections -= 1
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, payload


async def login_cookie(base_url: str, username: str) -> str:
    import httpx

    async with httpx.AsyncClient(base_url=base_url, follow_redirects=False) as client:
        page = await client.get("/accounts/login/")
        token = page.cookies["csrftoken"]
        answer = await client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base_url}/accounts/login/"},
        )
        if answer.status_code != 302:
            raise SystemExit(f"bench login for {username} failed: {answer.status_code}")
        return f"sessionid={answer.cookies['sessionid']}; csrftoken={token}"


def lead_body(tenant: int, number: int, run_id: str) -> bytes:
    return json.dumps(
        {
            "lead_id": f"BENCH-{run_id}-{number}",
            "first_name": "Bench",
            "last_name": f"Lead {number}",
            "email": f"bench.{run_id}.{number}@example.com",
            "phone": f"+1 210 {200 + number // 10000 % 700:03d} {number % 10000:04d}",
            "state": "TX",
            "zip_code": "78201",
            "dob": "03/15/1980",
            "gender": "female",
            "height": "65",
            "product": "data",
            "price": "45.00",
            "campaign_name": "Bench",
        }
    ).encode()


async def listen(ws, tenant: int, runs: list[RateRun], fast_path: bool) -> None:
    async for message in ws:
        event = json.loads(message)
        now = time.perf_counter()
        trace_id = event.get("traceId")
        run = runs[-1] if runs else None
        sample = run.samples.get(trace_id) if run else None
        if sample is None:
            continue
        if sample.tenant != tenant:
            run.wrong_tenant_events += 1
            continue
        if event["type"] == "lead_stub":
            sample.stub_at = sample.stub_at or now
        elif event["type"] in ("new_lead_notification", "lead_updated"):
            if sample.event_at is not None:
                run.duplicate_events += 1
            else:
                sample.event_at = now


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 1)}


def _leads():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
    django.setup()
    from leads.models import Lead

    return Lead.objects


def stored_count(run_id: str) -> int:
    from django.db import connection

    count = _leads().filter(nextgen_id__startswith=f"BENCH-{run_id}-").count()
    connection.close()
    return count


def forget_bench_leads() -> None:
    """Start each rate from an empty desk, so phone numbers may repeat between rates."""
    from django.db import connection

    _leads().filter(tenant__username__startswith="bench_agent_").delete()
    connection.close()


IMPORTER = "bench_importer"


def keep_importing(base_url: str, path: Path, stop: "threading.Event", done: list[str]) -> None:
    """Upload `path` as the importer agent, again each time its import ends, until `stop`."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=600) as http:
        token = http.post(
            "/api/auth/token", json={"username": IMPORTER, "password": PASSWORD}
        ).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        while not stop.is_set():
            with path.open("rb") as upload:
                job = http.post(
                    "/api/csv-upload", files={"file": (path.name, upload, "text/csv")},
                    headers=headers,
                ).json()  # fmt: skip
            while job.get("status") in ("queued", "running") and not stop.is_set():
                time.sleep(0.5)
                job = http.get(job["url"], headers=headers).json()
            done.append(job.get("status", "?"))


async def run_rate(
    client, rate, seconds, credentials, runs, fast_path, watched, during_import=None
) -> dict:
    await asyncio.to_thread(forget_bench_leads)
    importing = threading.Event()
    imports_done: list[str] = []
    importer = None
    if during_import is not None:
        importer = threading.Thread(
            target=keep_importing,
            args=(f"http://{client.host}:{client.port}", during_import, importing, imports_done),
            daemon=True,
        )
        importer.start()
        await asyncio.sleep(3)  # the first upload is in and its import has started
    cpu_before = cpu_seconds(watched)
    run = RateRun(rate=rate)
    runs.append(run)
    run_id = uuid.uuid4().hex[:8]
    total = rate * seconds
    interval = 1 / rate
    pending: set[asyncio.Task] = set()

    async def post(number: int) -> None:
        tenant = number % 2
        sid, api_key = credentials[tenant]
        trace_id = f"{run_id}-{number}"
        sample = Sample(sent_at=time.perf_counter(), tenant=tenant)
        run.samples[trace_id] = sample
        status, _ = await client.request(
            "POST",
            "/api/webhooks/nextgen",
            {
                "Content-Type": "application/json",
                "sid": sid,
                "apikey": api_key,
                "X-Request-ID": trace_id,
            },
            lead_body(tenant, number, run_id),
        )
        sample.status, sample.acked_at = status, time.perf_counter()

    started = time.perf_counter()
    for number in range(total):
        # Open loop: each post leaves at its scheduled time, answered or not.
        delay = started + number * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(post(number))
        pending.add(task)
        task.add_done_callback(pending.discard)
    send_seconds = time.perf_counter() - started
    importing.set()
    deadline = time.perf_counter() + SETTLE_SECONDS
    while time.perf_counter() < deadline:
        if not pending and all(s.event_at for s in run.samples.values() if s.status // 100 == 2):
            break
        await asyncio.sleep(0.05)
    for task in list(pending):
        task.cancel()
    cpu_used = {
        name: round((spent - cpu_before[name]) / total * 1000, 2)
        for name, spent in cpu_seconds(watched).items()
    }

    samples = list(run.samples.values())
    acked = [s for s in samples if s.status // 100 == 2]
    delivered = [s for s in acked if s.event_at]
    result = {
        "rate": rate,
        "seconds": seconds,
        "imports_during": imports_done if importer is not None else None,
        "achieved_rate": round(total / send_seconds, 1),
        "sent": total,
        "acknowledged": len(acked),
        "errors": sum(1 for s in samples if s.status // 100 != 2),
        "connection_errors": sum(1 for s in samples if s.status == CONNECTION_ERROR),
        "unanswered": sum(1 for s in samples if s.status == 0),
        "stored": await asyncio.to_thread(stored_count, run_id),
        "delivered": len(delivered),
        "wrong_tenant_events": run.wrong_tenant_events,
        "duplicate_events": run.duplicate_events,
        "connections": client.open_connections,
        "ack_ms": percentiles([s.acked_at - s.sent_at for s in acked]),
        "event_ms": percentiles([s.event_at - s.sent_at for s in delivered]),
        "cpu_ms_per_lead": cpu_used,
    }
    if fast_path:
        stubs = [s for s in acked if s.stub_at]
        result["stubs"] = len(stubs)
        result["stub_ms"] = percentiles([s.stub_at - s.sent_at for s in stubs])
        # Queue pickup plus the worker's upsert: what the agent waits between stub and row.
        result["stub_to_stored_ms"] = percentiles(
            [s.event_at - s.stub_at for s in stubs if s.event_at]
        )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rates", default="50,100,200,400")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--fast-path", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--during-import", type=Path, metavar="FILE", help="keep importing FILE meanwhile"
    )
    parser.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="NAME=PGID",
        help="report the CPU this process group spends per lead (repeatable)",
    )
    args = parser.parse_args()
    watched = {name: int(pgid) for name, pgid in (item.split("=") for item in args.watch)}

    credentials = [bench_agent("bench_agent_a"), bench_agent("bench_agent_b")]
    if args.during_import:
        bench_agent(IMPORTER)
    cookies = [
        await login_cookie(args.url, "bench_agent_a"),
        await login_cookie(args.url, "bench_agent_b"),
    ]
    ws_url = args.url.replace("http", "ws", 1) + "/ws/leads/"
    runs: list[RateRun] = []
    results = []
    async with (
        connect(ws_url, additional_headers={"Cookie": cookies[0]}, origin=args.url) as ws_a,
        connect(ws_url, additional_headers={"Cookie": cookies[1]}, origin=args.url) as ws_b,
    ):
        listeners = [
            asyncio.create_task(listen(ws_a, 0, runs, args.fast_path)),
            asyncio.create_task(listen(ws_b, 1, runs, args.fast_path)),
        ]
        client = RawHttpClient(args.url)
        for rate in (int(r) for r in args.rates.split(",")):
            result = await run_rate(
                client,
                rate,
                args.seconds,
                credentials,
                runs,
                args.fast_path,
                watched,
                args.during_import,
            )
            results.append(result)
            print(json.dumps(result), flush=True)
        for listener in listeners:
            listener.cancel()

    print()
    print(
        "| rate/s | sent | acked | stored | delivered | ack p50/p95/p99 | event p50/p95/p99/max"
        " | CPU ms per lead |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        ack = " / ".join(str(r["ack_ms"][k]) for k in ("p50", "p95", "p99"))
        event = " / ".join(str(r["event_ms"][k]) for k in ("p50", "p95", "p99", "max"))
        counts = " | ".join(str(r[k]) for k in ("sent", "acknowledged", "stored", "delivered"))
        cpu = ", ".join(f"{name} {ms}" for name, ms in r["cpu_ms_per_lead"].items())
        print(f"| {r['rate']} | {counts} | {ack} | {event} | {cpu} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    asyncio.run(main())

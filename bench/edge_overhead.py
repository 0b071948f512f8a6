"""What the edge (crokodial.edge) costs on the webhook's hot path, and how fast it refuses.

Starts uvicorn (the Procfile's options, one worker) on DATABASE_URL, migrated, twice per round:
once serving `crokodial.asgi:application` (with the edge) and once the same app without it,
and sends N sequential webhook POSTs (one keep-alive connection, unique leads) to each; reports
p50/p90 per variant. Then times, with raw sockets, the 413 for a declared 300 MB body and for
streamed bodies (anonymous, chunked).

    DATABASE_URL=postgres://… python bench/edge_overhead.py [--posts 2000] [--rounds 2]
"""

import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")

from tests.server import UVICORN_OPTIONS, free_port  # noqa: E402


def without_edge():  # uvicorn --factory target
    from crokodial.asgi import django_asgi_app
    from webhooks.asgi import with_vendor_webhook

    return with_vendor_webhook(django_asgi_app)


def start(app: list[str], port: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port),
         *UVICORN_OPTIONS, "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=15)


def webhook_latencies(port: int, headers: dict[str, str], posts: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
        for i in range(posts + 200):
            body = {
                "lead_id": f"EDGE-{uuid.uuid4().hex}",
                "phone": f"(210) 5{i % 100:02d}-{i % 10000:04d}",
                "email": f"edge.{uuid.uuid4().hex[:12]}@example.com",
            }
            started = time.perf_counter()
            answer = http.post("/api/webhooks/nextgen", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code in (200, 201), answer.text
            if i >= 200:  # warm-up first
                timings.append(elapsed)
    return timings


def time_to_answer(port: int, request_head: bytes, stream: bool) -> tuple[float, int, int]:
    """Send a head (and chunked bytes when `stream`) until an answer; (ms, status, bytes sent)."""
    chunk = b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.perf_counter()
        sock.sendall(request_head)
        sent = 0
        while stream and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(frame)
            except OSError:
                break
            sent += len(chunk)
        answer = sock.recv(65536)
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, int(answer.split()[1]), sent


def in_process_overhead(calls: int) -> tuple[float, float]:
    """Microseconds per webhook-shaped call through a do-nothing app, without and with the edge."""
    import asyncio

    from crokodial.edge import with_edge_limits

    body = b'{"phone": "2104611180"}'
    scope = {"type": "http", "method": "POST", "path": "/api/webhooks/nextgen",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()), (b"sid", b"x"),
                         (b"apikey", b"y")]}  # fmt: skip

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        return None

    async def app(scope: dict, receive, send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def run(target) -> float:
        for _ in range(1000):
            await target(scope, receive, send)
        started = time.perf_counter()
        for _ in range(calls):
            await target(scope, receive, send)
        return (time.perf_counter() - started) / calls * 1e6

    return asyncio.run(run(app)), asyncio.run(run(with_edge_limits(app)))


def head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from webhooks.services import nextgen_credential_issue

    agent, _ = get_user_model().objects.get_or_create(username="bench-edge")
    credential, api_key = nextgen_credential_issue(tenant=agent, rotate=True)
    headers = {"sid": credential.sid, "apikey": api_key}

    bare, edged = in_process_overhead(100_000)
    print(f"in process, do-nothing app: {bare:.1f} us per call bare, {edged:.1f} us with the edge")

    variants = {
        "with edge": ["crokodial.asgi:application"],
        "without edge": ["--factory", "bench.edge_overhead:without_edge"],
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, app in variants.items():
            port = free_port()
            process = start(app, port)
            try:
                results[name] += webhook_latencies(port, headers, args.posts)
            finally:
                stop(process)
    for name, timings in results.items():
        timings.sort()
        p90 = timings[int(len(timings) * 0.9)]
        print(f"{name}: {len(timings)} posts, p50 {statistics.median(timings):.3f} ms, "
              f"p90 {p90:.3f} ms")  # fmt: skip

    port = free_port()
    process = start(variants["with edge"], port)
    try:
        cases = {
            "declared 300 MB, /api/csv-upload (anonymous)": (
                head("/api/csv-upload", f"Content-Length: {300 * 1024 * 1024}\r\n"), False),
            "declared 300 MB, /api/webhooks/nextgen": (
                head("/api/webhooks/nextgen", f"Content-Length: {300 * 1024 * 1024}\r\n"), False),
            "streamed, /api/csv-upload (anonymous: 401)": (
                head("/api/csv-upload", "Transfer-Encoding: chunked\r\n"), True),
            "streamed, /api/auth/token (256 KB limit)": (
                head("/api/auth/token", "Transfer-Encoding: chunked\r\n"), True),
            "streamed, /api/webhooks/nextgen (1 MB limit)": (
                head("/api/webhooks/nextgen", "Transfer-Encoding: chunked\r\n"), True),
        }  # fmt: skip
        for name, (request_head, stream) in cases.items():
            runs = [time_to_answer(port, request_head, stream) for _ in range(20)]
            ms = statistics.median(run[0] for run in runs)
            # Bytes the client pushed into its socket (kernel buffers) before the answer came.
            print(f"{name}: {runs[0][1]} in {ms:.2f} ms (median of 20), "
                  f"client pushed <= {max(run[2] for run in runs) // 1024} KB")  # fmt: skip
    finally:
        stop(process)


if __name__ == "__main__":
    main()

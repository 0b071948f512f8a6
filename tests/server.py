"""Run the real ASGI application in its own process, for tests that need a live server.

In-process test clients share the test's database connection and settings; a subprocess shows
what an operator would see with a given environment (for example a database that is down).
"""

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
APPLICATION = "crokodial.asgi:application"
# The Procfile's `web:` options, one worker.
UVICORN_OPTIONS = [
    *("--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio"),
    *("--ws-ping-interval", "20", "--ws-ping-timeout", "20", "--no-access-log"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# Tests talk plain http on loopback: production's HTTPS redirect and secure cookies are off.
PLAIN_HTTP = {"DJANGO_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0"}
_running: dict[str, subprocess.Popen] = {}


def server_process(base_url: str) -> subprocess.Popen:
    """The process serving `base_url` (a live_server still running)."""
    return _running[base_url]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _procfile_line(name: str) -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return next(line for line in lines if line.startswith(f"{name}:")).removeprefix(f"{name}:")


def _shell_default(word: str, env: dict[str, str]) -> str:
    """Expand `${NAME:-default}` the way the Procfile's shell would, from `env`."""
    match = re.fullmatch(r"\$\{([A-Z_]+):-([^}]*)\}", word)
    return (env.get(match[1]) or match[2]) if match else word


def _procfile_web(port: int, workers: int, env: dict[str, str]) -> tuple[list[str], dict]:
    """The Procfile's `web:` command (uvicorn), on `port` with `workers` processes, and the
    variables the line sets."""
    words = _procfile_line("web").split()
    assignments = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        assignments[name] = _shell_default(value, env)
    assert words[0] == "uvicorn", words
    expanded = {"${HOST:-0.0.0.0}": HOST, "$PORT": str(port), "${WEB_CONCURRENCY:-2}": str(workers)}
    return [sys.executable, "-m", *(expanded.get(word, word) for word in words)], assignments


# Every queue (crokodial.queues): one test worker does the work of the Procfile's two workers.
ALL_QUEUES = "leads,imports,celery"


@contextmanager
def live_server(
    env: dict[str, str],
    *,
    startup_timeout: float = 20.0,
    procfile: bool = False,
    workers: int = 2,
) -> Iterator[str]:
    """Serve `crokodial.asgi:application` with uvicorn under `env`; yield its base URL.

    One uvicorn process with the Procfile's options by default; with `procfile`, the Procfile's
    own `web:` command with `workers` processes. Uvicorn, not Daphne: Daphne (Twisted) reads a
    whole request body before it calls the app, so the edge's limits (crokodial.edge) could only
    act once it had arrived.

    Only PATH, HOME and the settings module come from the calling process, so the server sees
    exactly the configuration the test gives it. The process is always stopped on exit.
    """
    port = free_port()
    metrics_dir = tempfile.TemporaryDirectory(prefix="crokodial-metrics-")
    if procfile:
        # Never the Procfile's machine-wide default: each test stack scrapes only itself.
        env = {"PROMETHEUS_MULTIPROC_DIR": metrics_dir.name, **env}
        command, assignments = _procfile_web(port, workers, env)
    else:
        command = [sys.executable, "-m", "uvicorn", APPLICATION, "--host", HOST,
                   "--port", str(port), *UVICORN_OPTIONS]  # fmt: skip
        assignments = {}
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        **PLAIN_HTTP,
        **env,
        **assignments,
    }
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    with metrics_dir, tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        base_url = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + startup_timeout
            while not _answers(port):
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"server exited with {process.returncode}:\n{log.read()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not answer on port {port} in {startup_timeout} s"
                    )
                time.sleep(0.1)
            _running[base_url] = process
            yield base_url
        finally:
            _running.pop(base_url, None)
            # The whole group: uvicorn's worker processes too.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def shared_database_env(**extra: str) -> dict[str, str]:
    """Environment for a server or worker process that shares the running test's database
    (PostgreSQL, or a SQLite file) and Redis, if any. Call it once the test database exists."""
    from urllib.parse import quote

    from django.conf import settings
    from django.db import connection

    database = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(database["USER"] or "", safe="")
        if database.get("PASSWORD"):
            credentials += ":" + quote(database["PASSWORD"], safe="")
        host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        database_url = f"postgres://{credentials}@{host}/{database['NAME']}"
    else:
        database_url = f"sqlite:///{Path(database['NAME']).resolve()}"
    env = {"DATABASE_URL": database_url, "DJANGO_SECRET_KEY": "live-test-secret"}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    if os.environ.get("CELERY_BROKER_URL"):  # the suite run against another broker (amqp://)
        env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]
    return {**env, **extra}


WORKER_START_TIMEOUT = 30
_worker_numbers = itertools.count()


@contextmanager
def celery_worker(
    env: dict[str, str],
    *,
    concurrency: int = 2,
    wait_ready: bool = False,
    queues: str = ALL_QUEUES,
) -> Iterator[subprocess.Popen]:
    """Run a real Celery worker (the Procfile's `worker:`) under `env`; always stop it.

    It consumes `queues` (every queue by default: both of the Procfile's `worker:` processes in
    one). With `wait_ready`, return only once the worker says it is ready to take tasks. The
    process's `log_path` attribute names the file its output goes to.
    """
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        **env,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "crokodial",
        "worker",
        "--concurrency",
        str(concurrency),
        "--queues",
        queues,
        "--hostname",
        f"test-{os.getpid()}-{next(_worker_numbers)}@%h",
        "--loglevel",
        "INFO",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    with tempfile.NamedTemporaryFile(mode="w+", suffix=".log") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        process.log_path = log.name
        try:
            deadline = time.monotonic() + WORKER_START_TIMEOUT
            while wait_ready and "ready." not in Path(log.name).read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{Path(log.name).read_text()}")
                time.sleep(0.1)
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

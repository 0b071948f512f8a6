"""Run the real ASGI application in its own process, for tests that need a live server.

In-process test clients share the test's database connection and settings; a subprocess shows
what an operator would see with a given environment (for example a database that is down).
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
APPLICATION = "crokodial.asgi:application"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def live_server(env: dict[str, str], *, startup_timeout: float = 20.0) -> Iterator[str]:
    """Serve `crokodial.asgi:application` with Daphne under `env`; yield its base URL.

    Only PATH, HOME and the settings module come from the calling process, so the server sees
    exactly the configuration the test gives it. The process is always stopped on exit.
    """
    port = free_port()
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        **env,
    }
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), APPLICATION],
            cwd=ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
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
            yield f"http://{HOST}:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
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


@contextmanager
def celery_worker(
    env: dict[str, str], *, concurrency: int = 2, wait_ready: bool = False
) -> Iterator[subprocess.Popen]:
    """Run a real Celery worker (the Procfile's `worker:`) under `env`; always stop it.

    With `wait_ready`, return only once the worker says it is ready to take tasks. The
    process's `log_path` attribute names the file its output goes to.
    """
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        **env,
    }
    command = [sys.executable, "-m", "celery", "-A", "crokodial", "worker",
               "--concurrency", str(concurrency), "--loglevel", "INFO",
               "--without-heartbeat", "--without-gossip", "--without-mingle"]  # fmt: skip
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

"""Run the real ASGI application in its own process, for tests that need a live server.

In-process test clients share the test's database connection and settings; a subprocess shows
what an operator would see with a given environment (for example a database that is down).
"""

import os
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

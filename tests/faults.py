"""Private PostgreSQL and Redis servers for tests that kill them.

The shared services on 5432 and 6379 are never stopped: a fault test starts its own instance
on a free port, in a temporary directory, and stops (or kills) only that one. PostgreSQL runs
as the `postgres` user with the server binaries `pg_config --bindir` names.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import wait_for
from tests.server import ROOT, free_port

HOST = "127.0.0.1"
START_TIMEOUT = 30
POSTGRES_USER = "postgres"


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    if not wait_for(condition, timeout, poll=0.05):
        raise RuntimeError(f"{what} did not happen within {timeout} s")


def _pg_bin(name: str) -> str:
    bindir = subprocess.run(
        ["pg_config", "--bindir"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return str(Path(bindir) / name)


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", POSTGRES_USER, "--", *command] if os.geteuid() == 0 else [*command]


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: `url` is its database, `stop`/`start` toggle it."""

    data_dir: Path
    port: int
    database: str = "crokodial"

    @property
    def url(self) -> str:
        return f"postgres://{POSTGRES_USER}@{HOST}:{self.port}/{self.database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "30", *args),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl(
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            f"-p {self.port} -k {self.data_dir} -c listen_addresses={HOST} -c fsync=off",
            "start",
        )
        _wait_until(lambda: _port_open(self.port), START_TIMEOUT, "PostgreSQL start")

    def stop(self) -> None:
        """Stop at once: clients see their connections cut, as in a crash or failover."""
        self._ctl("-m", "immediate", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster, as an out-of-memory killer would."""
        pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: not _port_open(self.port), START_TIMEOUT, "PostgreSQL death")

    @property
    def running(self) -> bool:
        return _port_open(self.port)


@contextmanager
def private_postgres(*, migrate: bool = True) -> Iterator[PrivatePostgres]:
    """Start a throwaway PostgreSQL cluster, create its database (migrated), and remove it after."""
    root = Path(tempfile.mkdtemp(prefix="crokodial-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, POSTGRES_USER)
    server = PrivatePostgres(data_dir=root / "data", port=free_port())
    try:
        subprocess.run(
            _as_postgres(
                _pg_bin("initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                POSTGRES_USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ),  # fmt: skip
            check=True,
            capture_output=True,
        )
        server.start()
        subprocess.run(
            _as_postgres(
                _pg_bin("createdb"),
                "-h",
                HOST,
                "-p",
                str(server.port),
                "-U",
                POSTGRES_USER,
                server.database,
            ),  # fmt: skip
            check=True,
            capture_output=True,
        )
        if migrate:
            manage(["migrate", "--noinput"], DATABASE_URL=server.url)
        yield server
    finally:
        if server.running:
            with suppress(subprocess.CalledProcessError):
                server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class PrivateRedis:
    port: int
    directory: Path
    process: subprocess.Popen | None = None
    # With an append-only file written on every command, a killed Redis comes back holding
    # every message it had accepted (docs/failures.md).
    appendonly: bool = False

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until(lambda: _port_open(self.port), START_TIMEOUT, "Redis start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        _wait_until(lambda: not _port_open(self.port), START_TIMEOUT, "Redis death")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@contextmanager
def private_redis(*, appendonly: bool = False) -> Iterator[PrivateRedis]:
    """Start a throwaway Redis (nothing kept on disk unless `appendonly`); kill it after."""
    with tempfile.TemporaryDirectory(prefix="crokodial-redis-") as directory:
        server = PrivateRedis(port=free_port(), directory=Path(directory), appendonly=appendonly)
        server.start()
        try:
            yield server
        finally:
            if server.running:
                server.kill()


def manage(arguments: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run `manage.py` in a fresh process under `env` (plus PATH, HOME and a test secret key)."""
    process_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        "DJANGO_SECRET_KEY": "fault-test-secret",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=process_env,
        check=True,
        capture_output=True,
        text=True,
    )

"""Startup configuration: bad environment values stop every entry point with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_ENV = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "crokodial.settings"}


def run_check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**BASE_ENV, "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mongodb://user:hunter2@db.example/leads", "unsupported scheme 'mongodb'"),
        ("DATABASE_URL", "mysql://user:hunter2@db.example/leads", "unsupported scheme 'mysql'"),
        ("DATABASE_URL", "postgres//x", "scheme://"),
        ("DATABASE_URL", "", "is set but empty"),
        ("DATABASE_URL", "postgres://user:hunter2@db.example", "names no database"),
        ("DATABASE_URL", "postgres://user:hunter2@db.example:notaport/x", "not a valid URL"),
        ("REDIS_URL", "amqp://guest:hunter2@mq.example//", "unsupported scheme 'amqp'"),
        ("REDIS_URL", "redis//localhost", "scheme://"),
        ("REDIS_URL", "", "is set but empty"),
    ],
)
def test_bad_url_stops_startup_with_one_line_and_no_password(variable, value, expected):
    result = run_check(**{variable: value})

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {variable} ")
    assert expected in lines[0]
    assert "accepted:" in lines[0]
    assert "hunter2" not in result.stderr + result.stdout


def test_accepted_schemes_are_listed():
    result = run_check(DATABASE_URL="mysql://x@h/db")

    assert "postgres://, postgresql://, sqlite://" in result.stderr


def test_missing_secret_key_without_debug_stops_startup():
    result = run_check(DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: DJANGO_SECRET_KEY is required when DJANGO_DEBUG is not 1"
    )


def test_debug_without_secret_key_uses_the_development_key(tmp_path):
    result = run_check(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "url", ["postgres://root@127.0.0.1:5432/test", "postgresql://root@127.0.0.1/test"]
)
def test_postgres_urls_are_accepted(url):
    result = run_check(DATABASE_URL=url, REDIS_URL="redis://127.0.0.1:6379/0")

    assert result.returncode == 0, result.stderr


def test_bad_debug_flag_is_refused():
    result = run_check(DJANGO_DEBUG="maybe")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be 1 or 0" in result.stderr


def test_absolute_sqlite_path_is_kept(tmp_path):
    database = tmp_path / "nested" / "db.sqlite3"
    database.parent.mkdir()
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**BASE_ENV, "DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert database.exists()

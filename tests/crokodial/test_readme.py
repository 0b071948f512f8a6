"""The README's configuration table names every environment variable the code reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(
    r"""(?:_env_int|_env_flag|_checked_url|environ\.get|environ\.setdefault|getenv|environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE"}


def _variables_read() -> set[str]:
    names: set[str] = set()
    for package in ("crokodial", "leads", "imports", "webhooks"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(READS.findall(path.read_text()))
    return names - NOT_CONFIGURATION


def _variables_documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {name for row in table.splitlines() if row.startswith("|") for name in
            re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}  # fmt: skip


def test_every_environment_variable_read_is_in_the_readme_table():
    read = _variables_read()
    assert {"DATABASE_URL", "REDIS_URL", "IMPORT_MAX_BYTES"} <= read
    assert read - _variables_documented() == set()


def test_the_readme_table_names_nothing_the_code_does_not_read():
    assert _variables_documented() - _variables_read() == set()

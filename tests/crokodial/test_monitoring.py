"""Issue 14: the alert rules and the dashboard under deploy/ are valid and watch real series."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import IN_CI
from tests.factories import make_agent

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "crokodial.json"
OPERATIONS = ROOT / "docs" / "operations.md"
SERIES = re.compile(r"\b(crokodial_[a-z_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")
# From the scrape itself or a blackbox probe, not from /metrics.
NOT_OURS = {"up", "probe_success"}


def _rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]


@pytest.mark.django_db
def test_every_series_the_rules_and_the_dashboard_use_is_served():
    staff = Client()
    staff.force_login(make_agent("ops", is_admin=True))
    text = staff.get("/metrics").content.decode()
    served = {family.name for family in text_string_to_metric_families(text)}
    expressions = [rule["expr"] for rule in _rules()] + [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
    ]

    used = {name for expr in expressions for name in SERIES.findall(expr)}
    base = {re.sub(f"({'|'.join(SUFFIXES)})$", "", name) for name in used}

    assert base - served == set()


def test_each_alert_has_a_runbook_section():
    runbook = OPERATIONS.read_text().lower()

    for rule in _rules():
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"
        assert f"### {rule['alert'].lower()}" in runbook, rule["alert"]


def test_the_alert_rules_pass_promtool():
    """Debian's `prometheus` package provides promtool; `make test` installs it (Makefile)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is missing in CI: apt-get install -y prometheus")
        pytest.skip("promtool is not installed: apt-get install -y prometheus")
    checked = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr

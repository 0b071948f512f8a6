"""CONTRACT §1, operator commands: create_agent, nextgen_credentials, seed_demo."""

import hashlib
import json
import os
import subprocess
import sys
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from crokodial.management.commands.seed_demo import DEMO_AGENTS, DEMO_LEADS, DEMO_NEXTGEN
from leads.models import Lead
from tests.factories import make_agent
from webhooks.models import NextGenCredential

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
User = get_user_model()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- create_agent ----------------------------------------------------------------------------


def test_create_agent_creates_an_agent_who_can_log_in():
    output = run("create_agent", "carol", "--password", "s3cret-pass", "--email", "c@example.com")

    carol = User.objects.get(username="carol")
    assert carol.email == "c@example.com"
    assert not carol.is_staff
    assert not carol.is_superuser
    assert authenticate(username="carol", password="s3cret-pass") == carol
    assert "carol" in output


def test_create_agent_with_admin_makes_a_staff_superuser():
    run("create_agent", "root", "--password", "s3cret-pass", "--admin")

    root = User.objects.get(username="root")
    assert root.is_staff
    assert root.is_superuser
    assert authenticate(username="root", password="s3cret-pass") == root


def test_create_agent_refuses_an_existing_username(agent):
    with pytest.raises(CommandError, match="already exists"):
        run("create_agent", agent.username, "--password", "another-pass")

    agent.refresh_from_db()
    assert not agent.check_password("another-pass")


def test_create_agent_needs_a_password():
    with pytest.raises(CommandError, match="--password"):
        run("create_agent", "dave")

    assert not User.objects.filter(username="dave").exists()


def test_create_agent_exits_non_zero_when_the_user_exists(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "crokodial.settings",
        "DJANGO_SECRET_KEY": "test-only-secret",
        # Relative to the working directory, so the database lives and dies in tmp_path.
        "DATABASE_URL": "sqlite:///commands.sqlite3",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert manage("migrate", "--noinput").returncode == 0
    created = manage("create_agent", "erin", "--password", "s3cret-pass")
    repeated = manage("create_agent", "erin", "--password", "s3cret-pass")

    assert created.returncode == 0, created.stderr
    assert repeated.returncode != 0
    assert "'erin' already exists" in repeated.stderr
    assert "Traceback" not in repeated.stderr


# --- nextgen_credentials ---------------------------------------------------------------------


def test_nextgen_credentials_json_prints_exactly_one_line_with_the_pair(agent):
    output = run("nextgen_credentials", agent.username, "--json")

    lines = output.splitlines()
    assert len(lines) == 1
    pair = json.loads(lines[0])
    assert set(pair) == {"sid", "apikey"}
    credential = NextGenCredential.objects.get(tenant=agent, is_active=True)
    assert credential.sid == pair["sid"]


def test_nextgen_credentials_store_only_a_hash_of_the_key(agent):
    pair = json.loads(run("nextgen_credentials", agent.username, "--json"))

    credential = NextGenCredential.objects.get(sid=pair["sid"])
    assert credential.key_hash == hashlib.sha256(pair["apikey"].encode()).hexdigest()
    assert credential.key_hash != pair["apikey"]
    row = NextGenCredential.objects.values().get(pk=credential.pk)
    assert pair["apikey"] not in {str(value) for value in row.values()}


def test_nextgen_credentials_print_the_pair_for_a_person_without_json(agent):
    output = run("nextgen_credentials", agent.username)

    credential = NextGenCredential.objects.get(tenant=agent)
    assert credential.sid in output
    assert "apikey:" in output


def test_nextgen_credentials_refuse_a_second_pair_without_rotate(agent):
    first = json.loads(run("nextgen_credentials", agent.username, "--json"))

    with pytest.raises(CommandError, match="--rotate"):
        run("nextgen_credentials", agent.username, "--json")

    assert NextGenCredential.objects.get(tenant=agent).sid == first["sid"]


def test_nextgen_credentials_rotate_replaces_the_pair(agent):
    old = json.loads(run("nextgen_credentials", agent.username, "--json"))

    new = json.loads(run("nextgen_credentials", agent.username, "--rotate", "--json"))

    assert new["sid"] != old["sid"]
    assert new["apikey"] != old["apikey"]
    old_credential = NextGenCredential.objects.get(sid=old["sid"])
    assert not old_credential.is_active
    assert old_credential.rotated_at is not None
    assert NextGenCredential.objects.get(tenant=agent, is_active=True).sid == new["sid"]


def test_nextgen_credentials_rotate_without_a_pair_issues_one(agent):
    pair = json.loads(run("nextgen_credentials", agent.username, "--rotate", "--json"))

    assert NextGenCredential.objects.get(tenant=agent, is_active=True).sid == pair["sid"]


def test_nextgen_credentials_refuse_an_unknown_user():
    with pytest.raises(CommandError, match="nobody"):
        run("nextgen_credentials", "nobody", "--json")

    assert not NextGenCredential.objects.exists()


# --- seed_demo -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def debug_for_seed_demo(request, settings):
    """seed_demo runs only with DEBUG on: the local setup it is for."""
    if "seed_demo" in request.node.name:
        settings.DEBUG = True


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        run("seed_demo")

    assert not User.objects.exists()


def test_seed_demo_exits_non_zero_with_debug_off(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {"PATH": os.environ["PATH"], "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50,
           "DATABASE_URL": f"sqlite:///{database}"}  # fmt: skip

    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode != 0
    assert "DJANGO_DEBUG=1" in result.stderr


def seeded_counts() -> tuple[int, int, int]:
    return User.objects.count(), Lead.objects.count(), NextGenCredential.objects.count()


def test_seed_demo_creates_the_demo_data():
    run("seed_demo")

    assert set(User.objects.values_list("username", flat=True)) == {u for u, _, _ in DEMO_AGENTS}
    assert Lead.objects.filter(tenant__username="agent").count() == len(DEMO_LEADS)
    assert NextGenCredential.objects.filter(is_active=True).count() == len(DEMO_NEXTGEN)


def test_seed_demo_is_idempotent():
    run("seed_demo")
    first = seeded_counts()

    run("seed_demo")

    assert seeded_counts() == first


def test_seed_demo_keeps_existing_users_and_leads(agent):
    run("seed_demo")
    run("seed_demo")

    assert User.objects.filter(username=agent.username).exists()
    assert User.objects.count() == len(DEMO_AGENTS) + 1


def test_seed_demo_keeps_a_rotated_demo_credential(db):
    run("seed_demo")
    rotated = json.loads(run("nextgen_credentials", "agent", "--rotate", "--json"))

    run("seed_demo")

    assert (
        NextGenCredential.objects.get(tenant__username="agent", is_active=True).sid
        == (rotated["sid"])
    )


def test_seed_demo_survives_a_demo_credential_switched_off_in_the_admin():
    run("seed_demo")
    NextGenCredential.objects.filter(tenant__username="agent").update(is_active=False)

    output = run("seed_demo")

    assert NextGenCredential.objects.filter(tenant__username="agent").count() == 1
    _, api_key = DEMO_NEXTGEN["agent"]
    assert api_key not in output


def test_seed_demo_prints_only_webhook_credentials_that_work():
    run("seed_demo")
    run("nextgen_credentials", "agent", "--rotate")

    output = run("seed_demo")

    _, api_key = DEMO_NEXTGEN["agent"]
    assert api_key not in output
    assert "nextgen_credentials" in output


def test_seed_demo_keeps_a_demo_lead_whose_phone_the_agent_changed():
    run("seed_demo")
    first, last, _, email, _, _ = DEMO_LEADS[0]
    Lead.objects.filter(email=email).update(phone="+12125550123")

    run("seed_demo")

    assert Lead.objects.filter(tenant__username="agent").count() == len(DEMO_LEADS)
    assert Lead.objects.get(email=email).phone == "+12125550123"


def test_seed_demo_prints_the_demo_logins():
    output = run("seed_demo")

    for username, password, _ in DEMO_AGENTS:
        assert f"{username} / {password}" in output
    for sid, api_key in DEMO_NEXTGEN.values():
        assert sid in output
        assert api_key in output


@pytest.mark.parametrize(("username", "password", "is_admin"), DEMO_AGENTS)
def test_seed_demo_logins_work(username, password, is_admin):
    run("seed_demo")
    browser = Client()

    logged_in = browser.login(username=username, password=password)

    assert logged_in
    assert browser.get("/").status_code == HTTPStatus.OK
    assert User.objects.get(username=username).is_staff == is_admin


def test_seed_demo_agent_sees_the_demo_leads_through_the_api():
    run("seed_demo")
    browser = Client()
    username, password, _ = next(a for a in DEMO_AGENTS if a[0] == "agent")
    browser.login(username=username, password=password)

    response = browser.get("/api/leads")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["pagination"]["total"] == len(DEMO_LEADS)


def test_seed_demo_leaves_other_tenants_alone():
    other = make_agent("zed")

    run("seed_demo")

    assert not Lead.objects.filter(tenant=other).exists()

"""Production defaults (DJANGO_DEBUG=0): HTTPS, secure cookies, HSTS, a trusted proxy only when
told, and a Content-Security-Policy on every page (docs/security.md)."""

import json
import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from django.test import Client

from tests.factories import make_agent
from tests.server import live_server, shared_database_env

ROOT = Path(__file__).resolve().parents[2]
# The documented production environment (docs/security.md), nothing more.
PRODUCTION_ENV = {
    "PATH": os.environ["PATH"],
    "DJANGO_SETTINGS_MODULE": "crokodial.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "kq3v-9XzR7wLpTn2+Yh8sJd5Gm1BfUe6CaQo4iVrNy0@ElHtWx",
    "DJANGO_ALLOWED_HOSTS": "crokodial.example.com",
    "DJANGO_TRUST_PROXY_SSL_HEADER": "1",
}
SECURITY_SETTINGS = [
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER",
]  # fmt: skip


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def production_settings(**env: str) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {SECURITY_SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**PRODUCTION_ENV, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_in_the_documented_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_production_is_https_with_secure_cookies_and_a_year_of_hsts_by_default():
    settings = production_settings(DJANGO_TRUST_PROXY_SSL_HEADER="")

    assert settings == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 60 * 60,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        # Not trusted unless the operator says the proxy sets it.
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_each_production_default_can_be_changed_from_the_environment():
    settings = production_settings(
        DJANGO_SECURE_COOKIES="0", DJANGO_SSL_REDIRECT="0", DJANGO_HSTS_SECONDS="60",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="0", DJANGO_HSTS_PRELOAD="1",
    )  # fmt: skip

    assert settings == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 60,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_plain_http_is_redirected_except_health_and_the_webhook():
    env = shared_database_env(DJANGO_SSL_REDIRECT="1")
    with live_server(env) as base_url, httpx.Client(base_url=base_url, timeout=20) as http:
        login = http.get("/accounts/login/")
        health = http.get("/api/health")
        webhook = http.post("/api/webhooks/nextgen", json={"phone": "2104611180"})
        behind_proxy = http.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})

    assert login.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert login.headers["Location"].startswith("https://")
    assert health.status_code == HTTPStatus.OK
    # Answered, not redirected: a vendor's POST would not follow (no credentials: 401).
    assert webhook.status_code == HTTPStatus.UNAUTHORIZED
    # uvicorn believes the forwarded scheme from its own loopback proxy (--proxy-headers).
    assert behind_proxy.status_code == HTTPStatus.OK
    assert (
        "max-age=31536000; includeSubDomains" in behind_proxy.headers["Strict-Transport-Security"]
    )


# --- Content-Security-Policy ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/imports/", "/accounts/login/", "/admin/", "/admin/login/", "/api/docs"]
)
def test_every_page_has_a_content_security_policy_without_inline_code(path):
    browser = Client()
    browser.force_login(make_agent("root", is_admin=True))

    response = browser.get(path, follow=True)

    assert response.status_code == HTTPStatus.OK
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy

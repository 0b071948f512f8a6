"""CONTRACT §2: browser sessions at /accounts/, API tokens at /api/auth/token."""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_PATHS = ["/accounts/login", "/accounts/login/"]
LOGOUT_PATHS = ["/accounts/logout", "/accounts/logout/"]
TOKEN_PATHS = ["/api/auth/token", "/api/auth/token/"]


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_token_from(client: Client, path: str = "/accounts/login/") -> str:
    client.get(path)
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def log_in(client: Client, username: str, password: str, path: str = "/accounts/login/"):
    token = csrf_token_from(client)
    return client.post(
        path, {"username": username, "password": password, "csrfmiddlewaretoken": token}
    )


# --- Browser session -------------------------------------------------------------------------


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_login_page_answers_without_redirect_and_has_the_standard_form(browser, path):
    response = browser.get(path)

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'method="post"' in page


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_login_with_the_right_password_redirects_to_the_desk(browser, agent, path):
    response = log_in(browser, agent.username, PASSWORD, path)

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"
    assert browser.get("/").status_code == HTTPStatus.OK


def test_login_honours_a_local_next_url(browser, agent):
    token = csrf_token_from(browser)

    response = browser.post(
        "/accounts/login/?next=/api/leads",
        {"username": agent.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/api/leads"


def test_login_ignores_a_next_url_on_another_host(browser, agent):
    token = csrf_token_from(browser)

    response = browser.post(
        "/accounts/login/?next=https://evil.example/",
        {"username": agent.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"


def test_login_with_a_wrong_password_shows_an_error_and_opens_no_session(browser, agent):
    response = log_in(browser, agent.username, "not-the-password")

    assert response.status_code == HTTPStatus.OK
    assert 'role="alert"' in response.content.decode()
    assert settings.SESSION_COOKIE_NAME not in browser.cookies
    assert browser.get("/").status_code == HTTPStatus.FOUND


def test_login_without_the_csrf_token_is_refused(browser, agent):
    response = browser.post("/accounts/login/", {"username": agent.username, "password": PASSWORD})

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_anonymous_desk_redirects_to_login(browser):
    response = browser.get("/")

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/accounts/login/?next=/"


@pytest.mark.parametrize("path", LOGOUT_PATHS)
def test_logout_by_post_ends_the_session(browser, agent, path):
    log_in(browser, agent.username, PASSWORD)

    response = browser.post(path, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})

    assert response.status_code == HTTPStatus.FOUND
    assert response.url == settings.LOGOUT_REDIRECT_URL
    assert browser.get("/").status_code == HTTPStatus.FOUND


@pytest.mark.parametrize("path", LOGOUT_PATHS)
def test_logout_by_get_is_not_allowed_and_keeps_the_session(browser, agent, path):
    log_in(browser, agent.username, PASSWORD)

    response = browser.get(path)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert browser.get("/").status_code == HTTPStatus.OK


def test_desk_shows_a_logout_form_that_posts(browser, agent):
    log_in(browser, agent.username, PASSWORD)

    page = browser.get("/").content.decode()

    assert 'action="/accounts/logout' in page
    assert 'method="post"' in page


# --- API token -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_token_is_issued_for_the_right_password(anon_client, agent, path):
    response = anon_client.post(
        path, {"username": agent.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"token": Token.objects.get(user=agent).key}


def test_token_is_the_same_on_a_second_request(anon_client, agent):
    credentials = {"username": agent.username, "password": PASSWORD}

    first = anon_client.post("/api/auth/token", credentials, format="json").json()["token"]
    second = anon_client.post("/api/auth/token", credentials, format="json").json()["token"]

    assert first == second


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_token_is_refused_for_a_wrong_password(anon_client, agent, path):
    response = anon_client.post(
        path, {"username": agent.username, "password": "not-the-password"}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert set(response.json()) == {"error"}
    assert not Token.objects.filter(user=agent).exists()


def test_token_is_refused_for_an_unknown_user(anon_client):
    response = anon_client.post(
        "/api/auth/token", {"username": "nobody", "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "error" in response.json()


def test_token_is_refused_for_an_inactive_agent(anon_client, agent):
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    response = anon_client.post(
        "/api/auth/token", {"username": agent.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("body", "missing"),
    [({"username": "alice"}, "password"), ({"password": PASSWORD}, "username"), ({}, "username")],
)
def test_token_request_without_a_field_is_a_bad_request_naming_it(anon_client, body, missing):
    response = anon_client.post("/api/auth/token", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert missing in response.json()["error"]


def test_token_request_with_malformed_json_is_a_bad_request(anon_client):
    response = anon_client.post(
        "/api/auth/token", data="{not json", content_type="application/json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "error" in response.json()


def test_token_request_needs_no_csrf_token(agent):
    client = APIClient(enforce_csrf_checks=True)

    response = client.post(
        "/api/auth/token", {"username": agent.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.OK


def test_token_authenticates_api_requests(anon_client, agent):
    token = anon_client.post(
        "/api/auth/token", {"username": agent.username, "password": PASSWORD}, format="json"
    ).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get("/api/leads")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["pagination"]["total"] == 0


def test_an_invalid_token_is_unauthorized(agent):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/leads")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "error" in response.json()


def test_anonymous_api_request_is_unauthorized_with_a_challenge(anon_client):
    response = anon_client.get("/api/leads")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Token"


def test_session_api_write_needs_the_csrf_token(agent):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username=agent.username, password=PASSWORD)

    response = client.patch("/api/leads/1", {"notes": "x"}, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.json()["error"]

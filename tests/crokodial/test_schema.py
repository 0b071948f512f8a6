"""CONTRACT §3: /api/schema is the OpenAPI 3 document of this API, /api/docs browses it."""

import json
import re
from collections.abc import Iterator
from http import HTTPStatus

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

SCHEMA_PATHS = ["/api/schema", "/api/schema/"]
DOCS_PATHS = ["/api/docs", "/api/docs/"]
NOT_DOCUMENTED = {"schema", "docs"}
OPERATIONS = {"get", "post", "put", "patch", "delete"}
NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
ESCAPED = re.compile(r"\\(.)")


def fetch_schema(client, path: str = "/api/schema", **headers: str) -> dict:
    response = client.get(path, **headers)
    assert response.status_code == HTTPStatus.OK
    return yaml.safe_load(response.content)


def openapi_path(regex: str) -> str:
    """Turn a URLconf regex into an OpenAPI path.

    `api/leads/(?P<lead_id>[0-9]+)/?$` becomes `/api/leads/{lead_id}`.
    """
    path = NAMED_GROUP.sub(r"{\1}", regex)
    path = path.replace(r"\Z", "").replace("/?", "/").replace("^", "").replace("$", "")
    path = ESCAPED.sub(r"\1", path)
    return "/" + path.strip("/")


def api_routes(patterns: list | None = None, prefix: str = "") -> Iterator[tuple[str, str, type]]:
    """Yield (OpenAPI path, URL name, view class) for every endpoint in the URLconf."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from api_routes(entry.url_patterns, prefix + entry.pattern.regex.pattern)
        elif isinstance(entry, URLPattern):
            path = openapi_path(prefix + entry.pattern.regex.pattern)
            yield path, entry.name, getattr(entry.callback, "view_class", None)


def documented_routes() -> dict[str, set[str]]:
    routes = {}
    for path, name, view_class in api_routes():
        if not path.startswith("/api/") or name in NOT_DOCUMENTED:
            continue
        methods = {m for m in OPERATIONS if view_class is not None and hasattr(view_class, m)}
        routes.setdefault(path, set()).update(methods)
    return routes


@pytest.mark.parametrize("path", SCHEMA_PATHS)
def test_schema_is_served_as_openapi_yaml_by_default(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")
    assert yaml.safe_load(response.content)["info"]["title"] == "Crokodial API"


@pytest.mark.parametrize("accept", ["application/json", "application/vnd.oai.openapi+json"])
def test_schema_is_served_as_json_when_the_client_accepts_json(anon_client, accept):
    response = anon_client.get("/api/schema", HTTP_ACCEPT=accept)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith(accept)
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_schema_is_served_as_json_for_the_format_parameter(anon_client):
    response = anon_client.get("/api/schema", {"format": "json"})

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_schema_is_served_as_yaml_when_the_client_accepts_yaml(anon_client):
    response = anon_client.get("/api/schema", HTTP_ACCEPT="application/yaml")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/yaml")


def test_schema_json_and_yaml_are_the_same_document(anon_client):
    as_yaml = fetch_schema(anon_client)
    as_json = fetch_schema(anon_client, HTTP_ACCEPT="application/json")

    assert as_yaml == as_json


def test_schema_validates_against_the_openapi_3_specification(anon_client):
    validate_schema(fetch_schema(anon_client, HTTP_ACCEPT="application/json"))


def test_schema_documents_every_api_route_with_its_methods(anon_client):
    paths = fetch_schema(anon_client)["paths"]
    documented = {path: set(operations) & OPERATIONS for path, operations in paths.items()}

    assert documented == documented_routes()


def test_schema_paths_have_no_trailing_slash_and_appear_once(anon_client):
    paths = list(fetch_schema(anon_client)["paths"])

    assert all(not path.endswith("/") for path in paths)
    assert len({path.rstrip("/") for path in paths}) == len(paths)


def test_schema_route_walk_sees_the_known_endpoints():
    routes = documented_routes()

    assert routes["/api/health"] == {"get"}
    assert routes["/api/auth/token"] == {"post"}
    assert routes["/api/leads/{lead_id}"] == {"get", "patch"}


def test_schema_needs_no_login_even_with_a_bad_token(anon_client):
    response = anon_client.get("/api/schema", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("path", DOCS_PATHS)
def test_docs_are_an_html_page_for_anyone(anon_client, path):
    response = anon_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.content


def test_docs_load_their_assets_from_our_static_files_not_a_cdn(anon_client):
    page = anon_client.get("/api/docs").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets
    # Its own start-up script comes from the docs URL itself (no inline script: the CSP).
    assert all(asset.startswith(("/static/", "/api/docs?script=")) for asset in assets), assets
    assert re.findall(r"https?://[^\s\"']+", page) == []
    for asset in assets:
        response = anon_client.get(asset)
        assert response.status_code == HTTPStatus.OK, asset
        b"".join(response.streaming_content if response.streaming else [response.content])


def test_docs_point_at_the_schema(anon_client):
    script = anon_client.get("/api/docs?script=").content.decode()

    assert 'url: "/api/schema"' in script

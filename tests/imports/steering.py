"""Helpers for the tests of steered imports (preview, run with a mapping, undo)."""

from http import HTTPStatus

from rest_framework.test import APIClient

from tests.imports.conftest import csv_upload

UNKNOWN_VENDOR = (
    b"Cell #,Full Name,E-Mail Address,Birthdate,Zip/Postal,Favourite Colour\n"
    b"(210) 555-0101,Ana Lopez,ana@example.com,25/12/1980,78201,blue\n"
    b"210-555-0102,Ben Ode,ben@example.com,13/01/1975,78202,red\n"
    b"not a phone,Cy Twombly,,31/05/1990,78203,green\n"
)


def preview(client: APIClient, content: bytes, name: str = "vendor.csv") -> dict:
    response = client.post(
        "/api/imports/preview", {"file": csv_upload(content, name)}, format="multipart"
    )
    assert response.status_code == HTTPStatus.CREATED, response.json()
    return response.json()


def run(client: APIClient, import_id: int, capture, **body) -> dict:
    """POST /run as the agent and run the queued import as a commit would."""
    body.setdefault("dryRun", False)
    with capture(execute=True):
        response = client.post(f"/api/imports/{import_id}/run", body, format="json")
    expected = HTTPStatus.OK if body["dryRun"] else HTTPStatus.ACCEPTED
    assert response.status_code == expected, response.json()
    return response.json()

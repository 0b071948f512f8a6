"""POST /api/imports/preview (CONTRACT §6): what a file would become, with nothing written."""

from http import HTTPStatus

import pytest

from imports.models import ImportJob
from leads.models import Lead
from tests.imports.conftest import csv_upload, fixture_bytes
from tests.imports.steering import UNKNOWN_VENDOR, preview

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/imports/preview", "/api/imports/preview/"])
def test_preview_stores_the_file_and_writes_no_lead(agent_client, path):
    response = agent_client.post(
        path, {"file": csv_upload(UNKNOWN_VENDOR, "vendor.csv")}, format="multipart"
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["status"] == "preview"
    assert body["totalRows"] == 3
    assert body["mappingName"] is None
    assert body["preview"]["rows"] == 3
    assert body["preview"]["encoding"] and body["preview"]["delimiter"] == ","
    assert not Lead.objects.exists()
    assert ImportJob.objects.get(pk=body["id"]).storage_name


def test_preview_suggests_a_field_for_each_column_of_an_unknown_vendor(agent_client):
    columns = {c["header"]: c for c in preview(agent_client, UNKNOWN_VENDOR)["preview"]["columns"]}

    assert (columns["Cell #"]["field"], columns["Cell #"]["reason"]) == ("phone", "alias")
    assert columns["E-Mail Address"]["field"] == "email"
    assert columns["Full Name"]["field"] == "name"
    assert columns["Birthdate"]["field"] == "dob"
    assert columns["Zip/Postal"]["reason"] == "fuzzy"
    assert columns["Zip/Postal"]["field"] == "zipcode"
    assert 0 < columns["Zip/Postal"]["confidence"] < 1
    assert columns["Favourite Colour"] | {"suggestion": None} == {
        "header": "Favourite Colour",
        "field": None,
        "confidence": 0,
        "reason": "none",
        "suggestion": None,
        "dateOrder": None,
        "dateOrderAssumed": False,
    }
    assert (columns["Birthdate"]["dateOrder"], columns["Birthdate"]["dateOrderAssumed"]) == (
        "dmy",
        False,
    )


def test_preview_sample_shows_rows_as_they_are_and_as_stored(agent_client):
    sample = preview(agent_client, UNKNOWN_VENDOR)["preview"]["sample"]

    assert len(sample) == 3
    first = sample[0]
    assert first["line"] == 2
    assert first["cells"][0] == "(210) 555-0101"
    assert first["lead"]["phone"] == "+12105550101"
    assert (first["lead"]["firstName"], first["lead"]["lastName"]) == ("Ana", "Lopez")
    assert first["lead"]["dob"] == "1980-12-25"  # day first: 25 cannot be a month
    assert first["problems"] == []
    assert any("phone" in problem.lower() for problem in sample[2]["problems"])


def test_a_known_vendor_gets_todays_mapping_with_full_confidence(agent_client):
    columns = preview(agent_client, fixture_bytes("nextgen_export_sample.csv"))["preview"][
        "columns"
    ]

    mapped = {c["header"]: c["field"] for c in columns if c["field"]}
    assert mapped["lead_id"] == "nextgenId"
    assert mapped["phone"] == "phone"
    assert all(c["confidence"] == 1 for c in columns if c["field"])
    assert {c["reason"] for c in columns if c["field"]} <= {"exact", "alias"}


def test_a_file_without_recognised_columns_is_not_refused_at_preview(agent_client):
    body = preview(agent_client, b"Foo,Bar\nx,y\n")

    assert body["status"] == "preview"
    assert [c["field"] for c in body["preview"]["columns"]] == [None, None]


def test_preview_refuses_what_an_upload_refuses(agent_client):
    response = agent_client.post(
        "/api/imports/preview", {"file": csv_upload(b"a,b\n", "leads.txt")}, format="multipart"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_another_tenants_preview_is_not_found(agent_client, other_client):
    body = preview(agent_client, UNKNOWN_VENDOR)

    response = other_client.post(f"/api/imports/{body['id']}/run", {}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND

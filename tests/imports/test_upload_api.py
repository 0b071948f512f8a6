"""POST /api/csv-upload, the import resource, errors.csv and the deprecated route (CONTRACT §3)."""

import csv
import gc
import io
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from imports.models import ImportJob
from leads.models import Lead, LeadSource
from tests.factories import make_agent, make_lead
from tests.imports.conftest import csv_upload, fixture_bytes, streamed_text

pytestmark = pytest.mark.django_db

NEXTGEN = fixture_bytes("nextgen_export_sample.csv")
NOT_A_PHONE = 'Phone: not a valid US phone number: "N/A"'
RESOURCE_KEYS = {"id", "status", "fileName", "vendor", "stats", "errors", "errorsUrl",
                 "createdAt", "finishedAt", "url"}  # fmt: skip


def imported(client: APIClient, upload, content: bytes, name: str = "leads.csv") -> dict:
    response = upload(client, content, name)
    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.ACCEPTED), response.json()
    return client.get(response.json()["url"]).json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/csv-upload", "/api/csv-upload/"])
def test_upload_answers_the_finished_import(agent_client, agent, path):
    response = agent_client.post(path, {"file": csv_upload(NEXTGEN, "ng.csv")}, format="multipart")

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) >= RESOURCE_KEYS
    assert (body["status"], body["fileName"], body["vendor"]) == ("done", "ng.csv", "NextGen")
    stats = body["stats"]
    assert stats["processed"] == 200
    assert stats["processed"] == sum(stats[k] for k in ("imported", "updated", "skipped", "failed"))
    assert stats["imported"] == Lead.objects.filter(tenant=agent).count()
    assert body["url"] == f"/api/imports/{body['id']}"
    assert body["errorsUrl"] == f"/api/imports/{body['id']}/errors.csv"
    assert body["finishedAt"]


def test_two_agents_with_overlapping_files_each_get_their_own_leads(
    agent_client, other_client, agent, other_agent, upload
):
    mine = imported(agent_client, upload, NEXTGEN)
    theirs = imported(other_client, upload, NEXTGEN)

    assert mine["stats"] == theirs["stats"]
    assert Lead.objects.filter(tenant=agent).count() == mine["stats"]["imported"]
    assert Lead.objects.filter(tenant=other_agent).count() == theirs["stats"]["imported"]
    assert not Lead.objects.exclude(tenant__in=[agent, other_agent]).exists()
    assert set(Lead.objects.filter(tenant=agent).values_list("assigned_to", flat=True)) == {
        agent.pk
    }
    assert agent_client.get(theirs["url"]).status_code == HTTPStatus.NOT_FOUND
    assert agent_client.get(theirs["errorsUrl"]).status_code == HTTPStatus.NOT_FOUND
    listed = agent_client.get("/api/imports").json()["results"]
    assert [job["id"] for job in listed] == [mine["id"]]


def test_nothing_in_the_file_can_choose_tenant_or_owner(agent_client, agent, other_agent, upload):
    theirs = other_agent.pk
    content = (
        f"Phone,tenant,tenant_id,assigned_to,owner\n2104611180,{theirs},{theirs},{theirs},bob\n"
    )

    imported(agent_client, upload, content.encode())

    lead = Lead.objects.get()
    assert (lead.tenant_id, lead.assigned_to_id) == (agent.pk, agent.pk)
    assert lead.vendor_data["tenant_id"] == str(other_agent.pk)


def test_reupload_imports_nothing_new(agent_client, upload):
    first = imported(agent_client, upload, NEXTGEN)

    again = imported(agent_client, upload, NEXTGEN)

    assert first["stats"]["imported"] > 0
    assert again["stats"]["imported"] == 0
    assert again["stats"]["failed"] == first["stats"]["failed"]


def test_leads_already_stored_are_merged_not_duplicated(agent_client, agent, upload):
    stored = make_lead(agent, phone="+16022000001", email="", nextgen_id="", notes="mine")

    job = imported(agent_client, upload, NEXTGEN)

    stored.refresh_from_db()
    assert stored.nextgen_id == "NG90100000001"
    assert stored.notes == "mine"
    assert Lead.objects.filter(tenant=agent, phone="+16022000001").count() == 1
    assert job["stats"]["imported"] == 182


def test_stats_count_data_rows_only(agent_client, upload):
    content = b"Phone,Email\n\n2104611180,\n,\n\n,nobody\n2104611180,ann@example.com\n\n"

    job = imported(agent_client, upload, content)

    assert job["stats"] == {
        "processed": 3,
        "imported": 1,
        "updated": 1,
        "skipped": 0,
        "failed": 1,
        "doNotCall": 0,
    }
    assert job["errors"] == [
        {
            "line": 6,
            "message": 'No usable phone or email (Email: not a valid email address: "nobody")',
        }
    ]


def test_formula_values_are_stored_raw_and_neutralised_on_export(agent_client, agent, upload):
    imported(agent_client, upload, NEXTGEN)

    lead = Lead.objects.get(tenant=agent, nextgen_id="NG90100000049")
    assert lead.first_name == '=HYPERLINK("http://evil.example","x")'
    export = streamed_text(agent_client.get("/api/leads/export"))
    rows = {row["nextgenId"]: row for row in csv.DictReader(io.StringIO(export))}
    assert rows["NG90100000049"]["firstName"] == '\'=HYPERLINK("http://evil.example","x")'


def test_spreadsheet_round_trip_gives_the_same_leads(agent_client, agent, upload):
    imported(agent_client, upload, NEXTGEN)
    count = Lead.objects.filter(tenant=agent).count()
    export = streamed_text(agent_client.get("/api/leads/export"))
    # What Excel does on "Save as CSV": numbers lose leading zeros, text goes to cp1252, no BOM.
    rows = list(csv.reader(io.StringIO(export)))
    zip_column = rows[0].index("zipcode")
    for row in rows[1:]:
        row[zip_column] = row[zip_column].lstrip("0")
    saved = io.StringIO()
    csv.writer(saved, lineterminator="\r\n").writerows(rows)

    job = imported(agent_client, upload, saved.getvalue().encode("cp1252"), "export.csv")

    assert job["vendor"] == "Generic"
    assert job["stats"]["imported"] == 0
    assert job["stats"]["failed"] == 0
    assert Lead.objects.filter(tenant=agent).count() == count
    assert not Lead.objects.filter(tenant=agent, zipcode__regex=r"^\d{4}$").exists()


def test_errors_csv_lists_every_rejected_row_with_its_columns(agent_client, upload, settings):
    settings.IMPORT_BATCH_SIZE = 2
    content = b"Phone,Email,Name\n,,Ann\n2104611180,,Bo\nN/A,,=cmd()\n"
    job = imported(agent_client, upload, content)

    response = agent_client.get(job["errorsUrl"])

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    body = streamed_text(response)
    assert list(csv.reader(io.StringIO(body))) == [
        ["line", "error", "Phone", "Email", "Name"],
        ["2", "No usable phone or email", "", "", "Ann"],
        ["4", f"No usable phone or email ({NOT_A_PHONE})", "N/A", "", "'=cmd()"],
    ]


def test_uploaded_file_is_deleted_when_the_import_ends(agent_client, upload, media_root):
    imported(agent_client, upload, NEXTGEN)

    assert not list((media_root / "imports").iterdir())


def test_uploaded_file_is_deleted_when_the_import_fails(
    agent_client, upload, media_root, monkeypatch
):
    import imports.services

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports.services, "lead_bulk_upsert", broken)

    job = imported(agent_client, upload, NEXTGEN)

    assert job["status"] == "failed"
    assert "unexpected error" in ImportJob.objects.get().failure
    assert not list((media_root / "imports").iterdir())


def test_the_garbage_collector_pauses_while_an_import_runs(agent_client, upload, monkeypatch):
    import imports.services

    collecting = []
    import_rows = imports.services._import_rows

    def recorded(*args, **kwargs):
        collecting.append(gc.isenabled())
        return import_rows(*args, **kwargs)

    monkeypatch.setattr(imports.services, "_import_rows", recorded)

    assert imported(agent_client, upload, NEXTGEN)["status"] == "done"
    assert collecting == [False]
    assert gc.isenabled()


def test_the_garbage_collector_resumes_when_the_last_of_overlapping_imports_ends():
    from imports.services import _CollectorPause

    paused = _CollectorPause()
    first, second = paused(), paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_import_list_is_newest_first(agent_client, upload):
    first = imported(agent_client, upload, NEXTGEN, "a.csv")
    second = imported(agent_client, upload, NEXTGEN, "b.csv")

    for path in ("/api/imports", "/api/imports/"):
        body = agent_client.get(path).json()
        assert [job["id"] for job in body["results"]] == [second["id"], first["id"]]
        assert body["pagination"] == {"total": 2, "page": 1, "pages": 1, "limit": 50}
    assert agent_client.get(f"/api/imports/{first['id']}/").json()["fileName"] == "a.csv"


# --- Refused uploads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "leads.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "leads.csv", "binary"),
        (NEXTGEN, "leads.xlsx", "Upload a .csv file"),
        (b"Customer,Fax\nAnn,1\n", "leads.csv", "Expected at least one of"),
        (b'Phone,Notes\n2104611180,"open\n2104611181,x\n', "leads.csv", "Line 2"),
        (b"Phone,Notes\n2104611180," + b"x" * 300_000 + b"\n", "leads.csv", "Line 2"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason(agent_client, upload, content, name, message):
    response = upload(agent_client, content, name)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.json()["error"]
    assert not ImportJob.objects.exists()


def test_unknown_columns_say_what_was_expected_and_found(agent_client, upload):
    response = upload(agent_client, b"Customer,Fax\nAnn,1\n")

    assert response.json()["fields"]["file"] == [
        "No phone or email column found in this Generic file. Expected at least one of: "
        "Phone, Phone Number, Mobile, Cell, Email or E-mail. Found: Customer, Fax."
    ]


def test_no_file_is_a_bad_request(agent_client):
    response = agent_client.post("/api/csv-upload", {}, format="multipart")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "multipart field 'file'" in response.json()["error"]


def test_anonymous_upload_is_unauthorised(anon_client):
    response = anon_client.post(
        "/api/csv-upload", {"file": csv_upload(NEXTGEN)}, format="multipart"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_upload_over_the_limit_is_refused_while_streaming(
    agent_client, upload, settings, media_root
):
    settings.IMPORT_MAX_BYTES = 100 * 1024
    # A body under the declared limit whose file part passes the limit part way through.
    content = b"Phone\n" + b"2104611180\n" * 12_000

    response = upload(agent_client, content)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"error": "The file is over the 0.0976562 MB import limit."}
    assert not ImportJob.objects.exists()


def test_declared_length_over_the_limit_is_refused_unread(agent_client, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024

    response = agent_client.post(
        "/api/csv-upload",
        data=b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"error": "The file is over the 1 MB import limit."}


# --- The deprecated route ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/leads/import-csv", "/api/leads/import-csv/"])
def test_deprecated_route_is_gone_for_agents(agent_client, path):
    response = agent_client.post(path, {"file": csv_upload(NEXTGEN)}, format="multipart")

    assert response.status_code == HTTPStatus.GONE
    assert response.json() == {
        "error": "This endpoint is deprecated. Please use /api/csv-upload instead.",
        "use": "/api/csv-upload",
    }
    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_deprecated_route_imports_for_admins_into_their_own_tenant():
    admin = make_agent("root", is_admin=True)
    client = APIClient()
    client.force_authenticate(admin)

    response = client.post(
        "/api/leads/import-csv", {"file": csv_upload(NEXTGEN)}, format="multipart"
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["stats"]["imported"] == Lead.objects.filter(tenant=admin).count() > 0
    assert Lead.objects.filter(tenant=admin, source=LeadSource.NEXTGEN).exists()


def test_deprecated_route_is_unauthorised_for_anonymous(anon_client):
    response = anon_client.post("/api/leads/import-csv", {}, format="multipart")

    assert response.status_code == HTTPStatus.UNAUTHORIZED

"""POST /api/imports/{id}/run with the agent's mapping, saved mappings and the dry run (§6)."""

from http import HTTPStatus

import pytest

from imports.models import ImportJob, ImportMapping
from leads.models import Lead
from tests.factories import make_lead
from tests.imports.conftest import fixture_bytes
from tests.imports.steering import UNKNOWN_VENDOR, preview, run

pytestmark = pytest.mark.django_db

HAND_MAPPING = {"Zip/Postal": "zipcode", "Favourite Colour": "ignore", "Full Name": "name"}


def test_run_with_a_hand_made_mapping_imports_and_learns_it(
    agent_client, agent, django_capture_on_commit_callbacks
):
    body = preview(agent_client, UNKNOWN_VENDOR, "wrong-week.csv")

    started = run(
        agent_client, body["id"], django_capture_on_commit_callbacks,
        mapping={**HAND_MAPPING, "Favourite Colour": "keep"},
    )  # fmt: skip

    assert started["mappingName"] == "wrong-week.csv"
    job = agent_client.get(body["url"]).json()
    assert job["status"] == "done"
    assert job["stats"]["imported"] == 2 and job["stats"]["failed"] == 1
    ana = Lead.objects.get(tenant=agent, email="ana@example.com")
    assert (ana.first_name, ana.last_name, ana.zipcode) == ("Ana", "Lopez", "78201")
    assert ana.dob.isoformat() == "1980-12-25"
    assert ana.vendor_data == {"Favourite Colour": "blue"}
    saved = agent_client.get("/api/import-mappings").json()
    assert [m["name"] for m in saved] == ["wrong-week.csv"]
    assert saved[0]["mapping"]["Favourite Colour"] == "keep"
    assert saved[0]["headers"][0] == "Cell #"


def test_ignore_leaves_a_column_out_and_keep_stores_it_in_vendor_data(
    agent_client, agent, django_capture_on_commit_callbacks
):
    body = preview(agent_client, UNKNOWN_VENDOR)
    run(agent_client, body["id"], django_capture_on_commit_callbacks, mapping=HAND_MAPPING)

    assert Lead.objects.get(tenant=agent, email="ben@example.com").vendor_data == {}


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"Cell #": "ignore", "E-Mail Address": "keep"}, "phone or email"),
        ({"Favourite Colour": "shoeSize"}, "shoeSize"),
        ({"Favourite Colour": "email"}, "email is mapped from more than one column"),
        ({"Nope": "email"}, "Nope"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_problem(agent_client, mapping, named):
    body = preview(agent_client, UNKNOWN_VENDOR)

    response = agent_client.post(
        f"/api/imports/{body['id']}/run", {"mapping": mapping, "dryRun": False}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert named in str(response.json())
    assert ImportJob.objects.get(pk=body["id"]).status == "preview"
    assert not Lead.objects.exists()


def test_an_import_not_in_preview_cannot_run(agent_client, django_capture_on_commit_callbacks):
    body = preview(agent_client, UNKNOWN_VENDOR)
    run(agent_client, body["id"], django_capture_on_commit_callbacks)

    response = agent_client.post(f"/api/imports/{body['id']}/run", {}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "not in preview" in response.json()["error"]


def test_the_next_file_with_a_learned_header_imports_through_csv_upload(
    agent_client, agent, upload, django_capture_on_commit_callbacks
):
    headerless_phone = b"Telefono,Correo\n2105550111,a@example.com\n"
    response = upload(agent_client, headerless_phone)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = preview(agent_client, headerless_phone, "acme.csv")
    run(
        agent_client, body["id"], django_capture_on_commit_callbacks,
        mapping={"Telefono": "phone", "Correo": "email"},
    )  # fmt: skip

    response = upload(agent_client, b"TELEFONO,correo\n2105550112,b@example.com\n", "acme2.csv")

    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.ACCEPTED), response.json()
    assert response.json()["mappingName"] == "acme.csv"
    assert Lead.objects.filter(tenant=agent, email="b@example.com", phone="+12105550112").exists()
    again = preview(agent_client, b"Telefono,Correo\n2105550113,c@example.com\n")
    assert again["preview"]["mappingName"] == "acme.csv"
    assert {c["reason"] for c in again["preview"]["columns"]} == {"learned"}


def test_saved_mappings_are_the_tenants_own(
    agent_client, other_client, django_capture_on_commit_callbacks
):
    body = preview(agent_client, UNKNOWN_VENDOR)
    run(
        agent_client, body["id"], django_capture_on_commit_callbacks,
        mapping=HAND_MAPPING, saveMappingAs="Acme weekly",
    )  # fmt: skip
    mapping = ImportMapping.objects.get()
    assert mapping.name == "Acme weekly"

    assert other_client.get("/api/import-mappings").json() == []
    assert other_client.delete(f"/api/import-mappings/{mapping.pk}").status_code == 404
    assert agent_client.delete(f"/api/import-mappings/{mapping.pk}/").status_code == 204
    assert agent_client.get("/api/import-mappings/").json() == []


def test_an_untouched_known_file_runs_exactly_as_an_upload_does(
    agent_client, upload, other_client, other_agent, agent, django_capture_on_commit_callbacks
):
    nextgen = fixture_bytes("nextgen_export_sample.csv")
    body = preview(agent_client, nextgen)
    run(agent_client, body["id"], django_capture_on_commit_callbacks)
    upload(other_client, nextgen)

    assert not ImportMapping.objects.exists()
    mine = list(
        Lead.objects.filter(tenant=agent).order_by("phone", "email").values("phone", "vendor_data")
    )
    theirs = (
        Lead.objects.filter(tenant=other_agent)
        .order_by("phone", "email")
        .values("phone", "vendor_data")
    )
    assert mine == list(theirs)


MESSY = (
    b"Cell #,Full Name,E-Mail Address,Notes\n"
    b"2105550201,Ann One,ann@example.com,first\n"
    b"2105550202,Bob Two,bob@example.com,\n"
    b"2105550201,Ann One,ann.one@example.com,duplicate in the file\n"  # same phone: updated
    b"2105550201,Ann One,ann@example.com,\n"  # nothing new: skipped
    b",Nobody,,\n"  # no phone, no email: failed
    b"bad,Bad Phone,,\n"  # failed
    b"2105550300,Stored Lead,stored@example.com,new note\n"  # matches a stored lead
    b"2105550301,Stored Same,same@example.com,\n"  # matches a stored lead, nothing new
)


def test_a_dry_run_writes_nothing_and_counts_what_the_run_then_does(
    agent_client, agent, django_capture_on_commit_callbacks
):
    make_lead(agent, phone="+12105550300", email="stored@example.com", first_name="Stored")
    make_lead(agent, phone="+12105550301", email="same@example.com", first_name="Stored",
              last_name="Same")  # fmt: skip
    before = list(Lead.objects.order_by("pk").values())
    body = preview(agent_client, MESSY)

    tried = run(agent_client, body["id"], django_capture_on_commit_callbacks, dryRun=True)

    assert tried["status"] == "preview"
    assert list(Lead.objects.order_by("pk").values()) == before
    assert not ImportJob.objects.get(pk=body["id"]).row_errors.exists()
    counts = tried["dryRun"]
    assert counts["doNotCall"] == 0
    assert counts["imported"] == 2 and counts["failed"] == 2
    run(agent_client, body["id"], django_capture_on_commit_callbacks)
    stats = agent_client.get(body["url"]).json()["stats"]
    assert {name: stats[name] for name in ("imported", "updated", "skipped", "failed")} == {
        name: counts[name] for name in ("imported", "updated", "skipped", "failed")
    }
    assert stats["updated"] >= 2 and stats["skipped"] >= 1

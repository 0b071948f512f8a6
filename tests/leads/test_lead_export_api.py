"""GET /api/leads/export (CONTRACT §3): a streamed, spreadsheet-safe CSV of the caller's leads."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import pytest
from asgiref.sync import async_to_sync

from leads.exports import ROWS_PER_CHUNK
from leads.models import Lead, LeadSource
from tests.factories import make_disposition, make_lead, make_leads, set_created_at

pytestmark = pytest.mark.django_db

EXPORT_URL = "/api/leads/export"
BOM = "\ufeff".encode()
REQUIRED_COLUMNS = [
    "id",
    "name",
    "firstName",
    "lastName",
    "email",
    "phone",
    "state",
    "zipcode",
    "source",
    "status",
    "disposition",
    "createdAt",
]


def streamed_chunks(response: Any) -> list[bytes]:
    """Consume the body chunk by chunk, as the ASGI server sends it.

    The export is an async iterator, which the sync test client hands back unconsumed.
    """
    assert response.streaming
    if not response.is_async:
        return list(response.streaming_content)

    async def collect() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]

    return async_to_sync(collect)()


def body_of(response: Any) -> bytes:
    return b"".join(streamed_chunks(response))


def rows_of(response: Any) -> list[dict[str, str]]:
    text = body_of(response).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def exported_ids(response: Any) -> list[int]:
    return [int(row["id"]) for row in rows_of(response)]


def download_filename(response: Any) -> str:
    header = response["Content-Disposition"]
    assert header.startswith("attachment; ")
    if match := re.search(r"filename\*=utf-8''(\S+)", header, re.IGNORECASE):
        return unquote(match[1])
    match = re.search(r'filename="((?:[^"\\]|\\.)*)"', header)
    assert match, header
    return re.sub(r"\\(.)", r"\1", match[1])


# --- Format ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/leads/export", "/api/leads/export/"])
def test_export_answers_csv_with_and_without_trailing_slash(agent_client, agent, path):
    lead = make_lead(agent)

    response = agent_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert exported_ids(response) == [lead.pk]


def test_export_starts_with_a_utf8_bom_then_the_header(agent_client, agent):
    make_lead(agent)

    body = body_of(agent_client.get(EXPORT_URL))

    assert body.startswith(BOM + b"id,name,")


def test_export_header_has_the_contract_columns(agent_client, agent):
    make_lead(agent)

    body = body_of(agent_client.get(EXPORT_URL)).decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(body)))

    assert set(REQUIRED_COLUMNS) <= set(header)
    assert len(header) == len(set(header))


def test_export_row_holds_the_leads_values_with_the_display_phone(agent_client, agent):
    lead = make_lead(
        agent,
        first_name="Maria",
        last_name="Gonzalez",
        email="maria@example.com",
        phone="+12104611180",
        state="TX",
        zipcode="78205",
        source=LeadSource.MARKETPLACE,
        status="Contacted",
        disposition="Quoted",
    )

    [row] = rows_of(agent_client.get(EXPORT_URL))

    assert {column: row[column] for column in REQUIRED_COLUMNS[:-1]} == {
        "id": str(lead.pk),
        "name": "Maria Gonzalez",
        "firstName": "Maria",
        "lastName": "Gonzalez",
        "email": "maria@example.com",
        "phone": "(210) 461-1180",
        "state": "TX",
        "zipcode": "78205",
        "source": "Marketplace",
        "status": "Contacted",
        "disposition": "Quoted",
    }
    assert datetime.fromisoformat(row["createdAt"]) == lead.created_at


def test_export_lists_leads_with_only_a_phone_or_only_an_email(agent_client, agent):
    phone_only = make_lead(agent, email="", phone="+12104611180")
    email_only = make_lead(agent, email="only@example.com", phone="")

    rows = {int(row["id"]): row for row in rows_of(agent_client.get(EXPORT_URL))}

    assert (rows[phone_only.pk]["phone"], rows[phone_only.pk]["email"]) == ("(210) 461-1180", "")
    assert (rows[email_only.pk]["phone"], rows[email_only.pk]["email"]) == ("", "only@example.com")


def test_export_keeps_accents_in_utf8(agent_client, agent):
    make_lead(agent, first_name="José", last_name="Pérez", city="Montréal", notes="Señora Müller")

    body = body_of(agent_client.get(EXPORT_URL))
    [row] = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))

    assert "José Pérez".encode() in body
    assert (row["name"], row["city"], row["notes"]) == ("José Pérez", "Montréal", "Señora Müller")


def test_export_quotes_commas_quotes_and_line_breaks(agent_client, agent):
    notes = 'Said "call me", then hung up.\r\nSecond line'
    make_lead(agent, notes=notes, street1="1 Main St, Apt 2")

    [row] = rows_of(agent_client.get(EXPORT_URL))

    assert row["notes"] == notes
    assert row["street1"] == "1 Main St, Apt 2"


def test_empty_export_is_just_the_header(agent_client, other_agent):
    make_lead(other_agent)

    response = agent_client.get(EXPORT_URL)

    assert response.status_code == HTTPStatus.OK
    lines = body_of(response).decode("utf-8-sig").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("id,name,")


def test_export_answers_a_client_that_asks_for_csv(agent_client, agent):
    lead = make_lead(agent)

    response = agent_client.get(EXPORT_URL, HTTP_ACCEPT="text/csv")

    assert response.status_code == HTTPStatus.OK
    assert exported_ids(response) == [lead.pk]


# --- Formula injection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_formula_cells_are_neutralised_while_the_database_keeps_the_raw_value(
    agent_client, agent, raw
):
    lead = make_lead(agent, first_name=raw, notes=raw, city=raw)

    [row] = rows_of(agent_client.get(EXPORT_URL))

    assert row["notes"] == "'" + raw
    assert row["city"] == "'" + raw
    assert row["firstName"] == "'" + raw
    assert row["name"].startswith("'")
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.notes, saved.city, saved.first_name) == (raw, raw, raw)


@pytest.mark.parametrize("safe", ["Call after 5", "O'Neil", "1-800 number", "a=b", " spaced"])
def test_ordinary_cells_are_exported_unchanged(agent_client, agent, safe):
    make_lead(agent, notes=safe)

    [row] = rows_of(agent_client.get(EXPORT_URL))

    assert row["notes"] == safe


# --- Tenancy, authentication and filters -------------------------------------------------------


def test_export_holds_only_the_callers_leads(agent_client, other_client, agent, other_agent):
    mine = make_lead(agent)
    theirs = make_lead(other_agent)

    assert exported_ids(agent_client.get(EXPORT_URL)) == [mine.pk]
    assert exported_ids(other_client.get(EXPORT_URL)) == [theirs.pk]


@pytest.mark.parametrize("path", ["/api/leads/export", "/api/leads/export/"])
def test_anonymous_export_is_refused_with_401(anon_client, agent, path):
    make_lead(agent)

    response = anon_client.get(path)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert set(response.json()) == {"error"}


@pytest.fixture
def mixed_leads(agent) -> dict[str, Lead]:
    return {
        "tx_quoted_ng": make_lead(
            agent, first_name="Ana", state="TX", disposition="Quoted", source="NextGen"
        ),
        "ca_sold_mp": make_lead(
            agent, first_name="Ben", state="CA", disposition="SOLD", source="Marketplace"
        ),
        "ny_none_csv": make_lead(
            agent, first_name="Cy", state="NY", disposition="", source="CSV Import"
        ),
        "tx_none_mp": make_lead(
            agent, first_name="Dee", state="TX", disposition="", source="Marketplace"
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("states=TX", {"tx_quoted_ng", "tx_none_mp"}),
        ("states=tx,california", {"tx_quoted_ng", "ca_sold_mp", "tx_none_mp"}),
        ("dispositions=No%20Disposition", {"ny_none_csv", "tx_none_mp"}),
        ("dispositions=Quoted&dispositions=SOLD", {"tx_quoted_ng", "ca_sold_mp"}),
        ("sources=Marketplace", {"ca_sold_mp", "tx_none_mp"}),
        ("search=ben", {"ca_sold_mp"}),
        ("states=TX&sources=Marketplace", {"tx_none_mp"}),
        ("", {"tx_quoted_ng", "ca_sold_mp", "ny_none_csv", "tx_none_mp"}),
    ],
)
def test_export_honours_the_list_filters(agent_client, mixed_leads, query, expected):
    response = agent_client.get(f"{EXPORT_URL}?{query}")

    assert response.status_code == HTTPStatus.OK
    assert set(exported_ids(response)) == {mixed_leads[name].pk for name in expected}


def test_export_exports_the_same_leads_as_the_list(agent_client, mixed_leads):
    query = "states=TX,CA&sortBy=name&sortDirection=asc"

    listed = [lead["id"] for lead in agent_client.get(f"/api/leads?{query}").json()["results"]]

    assert exported_ids(agent_client.get(f"{EXPORT_URL}?{query}")) == listed


def test_export_follows_the_requested_order(agent_client, mixed_leads):
    response = agent_client.get(EXPORT_URL, {"sortBy": "name", "sortDirection": "desc"})

    assert [row["firstName"] for row in rows_of(response)] == ["Dee", "Cy", "Ben", "Ana"]


def test_export_defaults_to_newest_first(agent_client, agent):
    start = datetime(2024, 5, 1, tzinfo=UTC)
    older = set_created_at(make_lead(agent), start)
    newer = set_created_at(make_lead(agent), start + timedelta(days=1))

    assert exported_ids(agent_client.get(EXPORT_URL)) == [newer.pk, older.pk]


def test_leads_of_one_moment_export_in_the_lists_order(agent_client, agent):
    # Twelve ids, so that "10" would sort before "9" if the export ordered the ids as text.
    moment = datetime(2024, 5, 1, tzinfo=UTC)
    for _ in range(12):
        set_created_at(make_lead(agent), moment)

    listed = [lead["id"] for lead in agent_client.get("/api/leads").json()["results"]]

    assert exported_ids(agent_client.get(EXPORT_URL)) == listed
    assert listed == sorted(listed, reverse=True)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("states=ZZ", "states"),
        ("sources=Bogus", "sources"),
        ("sortBy=bogus", "sortBy"),
        ("sortDirection=up", "sortDirection"),
        ("page=1", "page"),
        ("limit=50", "limit"),
        ("foo=bar", "foo"),
    ],
)
def test_bad_export_query_is_refused_with_400_naming_the_param(agent_client, agent, query, param):
    make_lead(agent)

    response = agent_client.get(f"{EXPORT_URL}?{query}", HTTP_ACCEPT="text/csv")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["fields"]) == [param]
    assert response.json()["error"].startswith(f"{param}: ")


# --- File name ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leads", "filename"),
    [
        ([("Quoted", "NextGen")], "CrokodialCSV (Quoted, NG).csv"),
        ([("Quoted", "NextGen"), ("Quoted", "NextGen")], "CrokodialCSV (Quoted, NG).csv"),
        ([("SOLD", "Marketplace"), ("SOLD", "Marketplace")], "CrokodialCSV (SOLD, MP).csv"),
        ([("SOLD", "NextGen"), ("SOLD", "Marketplace")], "CrokodialCSV (SOLD, Mixed).csv"),
        ([("SOLD", "CSV Import")], "CrokodialCSV (SOLD, Mixed).csv"),
        ([("SOLD", "NextGen"), ("Quoted", "NextGen")], "CrokodialCSV (Multiple, NG).csv"),
        ([("SOLD", "NextGen"), ("", "NextGen")], "CrokodialCSV (Multiple, NG).csv"),
        ([("SOLD", "Usha"), ("Quoted", "Marketplace")], "CrokodialCSV (Multiple, Mixed).csv"),
        ([("", "Marketplace")], "CrokodialCSV (No Disposition, MP).csv"),
    ],
)
def test_filename_names_the_disposition_and_the_vendor(agent_client, agent, leads, filename):
    for disposition, source in leads:
        make_lead(agent, disposition=disposition, source=source)

    assert download_filename(agent_client.get(EXPORT_URL)) == filename


def test_filename_describes_the_filtered_leads_only(agent_client, mixed_leads):
    response = agent_client.get(EXPORT_URL, {"dispositions": "Quoted"})

    assert download_filename(response) == "CrokodialCSV (Quoted, NG).csv"


def test_filename_ignores_other_tenants_leads(agent_client, agent, other_agent):
    make_lead(agent, disposition="Quoted", source="NextGen")
    make_lead(other_agent, disposition="SOLD", source="Marketplace")

    assert download_filename(agent_client.get(EXPORT_URL)) == "CrokodialCSV (Quoted, NG).csv"


def test_filename_never_holds_a_path_separator(agent_client, agent):
    make_lead(agent, disposition="Unhealthy/Referred", source="NextGen")

    filename = download_filename(agent_client.get(EXPORT_URL))

    assert filename == "CrokodialCSV (Unhealthy-Referred, NG).csv"


def test_filename_with_unsafe_characters_stays_one_plain_name(agent, agent_client):
    name = 'Say "no"\\maybe'
    make_disposition(name, tenant=agent)
    make_lead(agent, disposition=name, source="Marketplace")

    filename = download_filename(agent_client.get(EXPORT_URL))

    assert filename == "CrokodialCSV (Say no-maybe, MP).csv"


def test_filename_keeps_accented_disposition_names(agent_client, agent):
    make_disposition("Rappelé 📞", tenant=agent)
    make_lead(agent, disposition="Rappelé 📞", source="NextGen")

    response = agent_client.get(EXPORT_URL)

    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert download_filename(response) == "CrokodialCSV (Rappelé 📞, NG).csv"


# --- Streaming ---------------------------------------------------------------------------------


def test_large_export_streams_in_chunks(agent_client, agent):
    row_count = 2 * ROWS_PER_CHUNK + 201
    make_leads(agent, row_count)

    response = agent_client.get(EXPORT_URL)
    chunks = streamed_chunks(response)

    assert response.streaming
    assert len(chunks) == 4
    assert chunks[0].startswith(BOM) and chunks[0].count(b"\r\n") == 1
    rows_per_chunk = [chunk.count(b"\r\n") for chunk in chunks[1:]]
    assert rows_per_chunk == [ROWS_PER_CHUNK, ROWS_PER_CHUNK, 201]
    assert not any(chunk.startswith(BOM) for chunk in chunks[1:])
    rows = csv.DictReader(io.StringIO(b"".join(chunks).decode("utf-8-sig"), newline=""))
    ids = [int(row["id"]) for row in rows]
    assert len(ids) == len(set(ids)) == row_count

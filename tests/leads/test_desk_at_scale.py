"""The desk at scale (docs/desk.md): indexed search finds what the plain search found, counts
above a threshold are flagged estimates, deep pages keep the order, the export's bytes stay."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Lower

from leads import exports, pagination
from leads.exports import EXPORT_COLUMNS, ExportRow, neutralise
from leads.models import Lead, LeadSource
from leads.selectors import LeadFilters, lead_list
from tests.factories import make_lead, make_leads, set_created_at
from tests.leads.test_lead_export_api import body_of

pytestmark = pytest.mark.django_db

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def search_before(tenant: Any, search: str) -> list[int]:
    """The search as it was before the trigram index: each field matched on its own."""
    condition = Q()
    for word in search.split():
        matches = (
            Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
        )
        digits = "".join(ch for ch in word if ch in "0123456789")
        if len(digits) >= 3:
            matches |= Q(phone__contains=digits)
        condition &= matches
    text = search.strip()
    digits = "".join(ch for ch in text if ch in "0123456789")
    if text and all(ch in "+0123456789 ().-" for ch in text) and len(digits) >= 3:
        condition |= Q(phone__contains=digits)
    leads = Lead.objects.filter(tenant=tenant).filter(condition)
    return sorted(leads.values_list("id", flat=True))


@pytest.fixture
def people(agent, other_agent):
    rows = [
        ("John", "Smith", "john.smith@gmail.com", "+12104611180"),
        ("Johnny", "Smithers", "js@yahoo.com", "+12104611181"),
        ("Mary Ann", "O'Brien", "maryann@obrien.ie", "+13125550100"),
        ("Zoë", "Muñoz", "zoe.munoz@example.com", "+447946095800"),
        ("Renée", "Ødegaard", "", "+15125554444"),
        ("Ann", "Lee", "ann_lee@example.com", "+17135550199"),
        ("Lee", "Annson", "lee%ann@example.com", "+17135551180"),
        ("", "", "only.email1180@example.com", ""),
        ("Bo", "Jo", "bojo@x.com", "+19175550123"),
        ("Jo", "Bo", "jo@x.com", "+19175550124"),
    ]
    for first, last, email, phone in rows:
        make_lead(agent, first_name=first, last_name=last, email=email, phone=phone)
        # The same people in another tenant: never found by this agent's search.
        make_lead(other_agent, first_name=first, last_name=last, email=email, phone=phone)
    return agent


@pytest.mark.parametrize(
    "search",
    [
        "smith",
        "SMITH",
        "mit",
        "john smith",
        "Ann",
        "mary ann",
        "o'brien",
        "zoë",
        "MUÑOZ",
        "Ødegaard",
        "2104611180",
        "(210) 461-1180",
        "+1 210 461 1180",
        "210-461-1180",
        "1180",
        "461",
        "john.smith@gmail.com",
        "JOHN.SMITH@GMAIL.COM",
        "jo@x.com",
        "gmail",
        "@example.com",
        "ann_lee",
        "lee%ann",
        "%",
        "_",
        "jo",
        "nobody",
        "smith 1181",
    ],
)
def test_search_finds_the_leads_the_plain_search_found(people, search):
    found = sorted(lead_list(tenant=people, filters=LeadFilters(search=search)).values_list(
        "id", flat=True
    ))  # fmt: skip
    assert found == search_before(people, search)


def test_search_through_the_api_gives_the_same_leads(agent_client, people):
    for search in ("smith", "(210) 461-1180", "jo@x.com", "1180"):
        response = agent_client.get("/api/leads", {"search": search})
        assert response.status_code == HTTPStatus.OK
        ids = sorted(lead["id"] for lead in response.json()["results"])
        assert ids == search_before(people, search)


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)


def _bulk(tenant: Any, count: int, **fields: Any) -> None:
    Lead.objects.bulk_create(
        Lead(
            tenant=tenant,
            first_name=f"First{i:03d}",
            last_name="Same",
            phone=f"+1415555{i:04d}",
            email=f"lead{i}@example.com",
            source=LeadSource.NEXTGEN,
            **fields,
        )
        for i in range(count)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")


def test_a_total_above_the_threshold_is_flagged_as_an_estimate(agent, agent_client, low_threshold):
    _bulk(agent, 12)
    page = agent_client.get("/api/leads", {"limit": 10}).json()["pagination"]
    if connection.vendor == "postgresql":
        assert page["totalIsEstimate"] is True
        assert page["total"] > pagination.EXACT_COUNT_LIMIT
        assert page["pages"] >= 2
    else:  # SQLite, the embedded default, always counts
        assert page == {"total": 12, "page": 1, "pages": 2, "limit": 10}


def test_a_total_within_the_threshold_is_exact_and_unflagged(agent, agent_client, low_threshold):
    _bulk(agent, 5)
    page = agent_client.get("/api/leads").json()["pagination"]
    assert page == {"total": 5, "page": 1, "pages": 1, "limit": 50}


def test_the_last_page_of_an_estimated_list_gives_the_exact_total(
    agent, agent_client, low_threshold
):
    _bulk(agent, 23)
    page = agent_client.get("/api/leads", {"limit": 10, "page": 3}).json()
    assert len(page["results"]) == 3
    assert page["pagination"] == {"total": 23, "page": 3, "pages": 3, "limit": 10}


def test_a_search_counts_its_matches_with_the_page_exactly(
    agent, other_agent, agent_client, low_threshold
):
    _bulk(agent, 12)
    _bulk(other_agent, 12)
    page = agent_client.get("/api/leads", {"search": "first", "limit": 10}).json()
    assert page["pagination"] == {"total": 12, "page": 1, "pages": 2, "limit": 10}
    second = agent_client.get("/api/leads", {"search": "first", "limit": 10, "page": 2}).json()
    assert second["pagination"] == {"total": 12, "page": 2, "pages": 2, "limit": 10}
    assert {lead["id"] for lead in page["results"] + second["results"]} == set(
        Lead.objects.filter(tenant=agent).values_list("id", flat=True)
    )


def test_a_search_past_its_last_page_still_gives_the_total(agent, agent_client):
    _bulk(agent, 12)
    page = agent_client.get("/api/leads", {"search": "first", "limit": 10, "page": 5}).json()
    assert page == {"results": [], "pagination": {"total": 12, "page": 5, "pages": 2, "limit": 10}}


def test_the_desk_page_counts_a_search_with_its_page(agent, client, low_threshold):
    client.force_login(agent)
    _bulk(agent, 12)
    response = client.get("/", {"search": "first", "limit": 25})
    assert response.status_code == HTTPStatus.OK
    assert response.context["pagination"]["total"] == 12
    assert not response.context["pagination"]["total_is_estimate"]
    assert len(response.context["rows"]) == 12
    deep = client.get("/", {"search": "first", "limit": 25, "page": 9})
    assert deep.context["pagination"]["page"] == 1
    assert len(deep.context["rows"]) == 12


def test_the_waiting_header_leaves_out_do_not_call_leads(agent, client):
    client.force_login(agent)
    make_lead(agent, status="New", disposition="")
    make_lead(agent, status="New", disposition="", do_not_call=True)
    make_lead(agent, status="New", disposition="Sold")
    response = client.get("/")
    assert response.context["waiting"]["count"] == 1


def test_the_schema_declares_the_estimate_flag(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    properties = schema["components"]["schemas"]["Pagination"]["properties"]
    assert properties["totalIsEstimate"]["type"] == "boolean"
    assert "totalIsEstimate" not in schema["components"]["schemas"]["Pagination"]["required"]


SORT_KEYS = {
    "createdAt": lambda lead: (lead.created_at,),
    "name": lambda lead: (lead.first_name.lower(), lead.last_name.lower()),
    "email": lambda lead: (lead.email.lower(),),
    "phone": lambda lead: (lead.phone,),
    "state": lambda lead: (lead.state,),
    "disposition": lambda lead: (lead.disposition.lower(),),
    "timeZone": lambda lead: (lead.time_zone,),
}


@pytest.fixture
def tied_leads(agent, other_agent):
    """35 leads sharing few values, so most of every order is decided by the id."""
    leads = []
    for i in range(35):
        lead = make_lead(
            agent,
            first_name=("ann", "Ann", "Bob")[i % 3],
            last_name=("Lee", "lee")[i % 2],
            email="" if i % 4 == 0 else f"{('a', 'B', 'c')[i % 3]}{i}@example.com",
            state=("TX", "CA", "")[i % 3],
            disposition=("", "Sold", "sold")[i % 3],
            time_zone=("America/Chicago", "")[i % 2],
        )
        leads.append(set_created_at(lead, START + timedelta(minutes=i % 4)))
        make_lead(other_agent)
    return leads


@pytest.mark.parametrize("sort_by", list(SORT_KEYS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("estimated", [False, True], ids=["exact-count", "estimated-count"])
def test_pages_in_turn_give_every_lead_once_in_order_ties_broken_by_id(
    agent_client, tied_leads, sort_by, direction, estimated, monkeypatch
):
    if estimated:
        monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    seen = []
    for page in range(1, 5):
        response = agent_client.get(
            "/api/leads", {"sortBy": sort_by, "sortDirection": direction, "limit": 10, "page": page}
        )
        assert response.status_code == HTTPStatus.OK
        seen += [lead["id"] for lead in response.json()["results"]]
    key = SORT_KEYS[sort_by]
    expected = sorted(tied_leads, key=lambda lead: (*key(lead), lead.id))
    if direction == "desc":
        expected.reverse()
    assert seen == [lead.id for lead in expected]


def test_a_deep_page_of_a_search_keeps_the_order(agent, agent_client, tied_leads):
    response = agent_client.get(
        "/api/leads",
        {"search": "ann", "sortBy": "name", "sortDirection": "asc", "limit": 10, "page": 2},
    )
    matches = Lead.objects.filter(tenant=agent, first_name__iexact="ann").order_by(
        Lower("first_name"), Lower("last_name"), F("id")
    )
    assert [lead["id"] for lead in response.json()["results"]] == [
        lead.id for lead in matches[10:20]
    ]


def export_before(leads: list[Lead]) -> bytes:
    """The export as it was written before the cursor and row tuples: from model instances."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(neutralise(name) for name, _ in EXPORT_COLUMNS)
    for lead in leads:
        writer.writerow(neutralise(value(lead)) for _, value in EXPORT_COLUMNS)
    return ("\ufeff" + buffer.getvalue()).encode()


def test_the_export_bytes_are_those_of_the_model_instances(agent, other_agent, agent_client):
    hostile = ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", 'say "hi", ok', "line\nbreak", ""]
    for i, text in enumerate(hostile):
        lead = make_lead(
            agent,
            first_name=text,
            last_name=f"Ünïcödé {i}",
            city=text,
            notes=f"{text} notes, with commas",
            dob=date(1960, 1, i + 1) if i % 2 else None,
            price=Decimal("12.50") if i % 3 else None,
            nextgen_id=f"ng-{i}" if i % 2 else "",
            campaign_name="Spring, 2024",
            disposition=("", "Sold", "Unhealthy/Referred")[i % 3],
        )
        set_created_at(lead, START + timedelta(seconds=i * 1.5))
    make_lead(agent, phone="+447946095800", email="")
    make_lead(agent, phone="2104611180 raw")  # hand-edited in the admin: exported as stored
    make_lead(other_agent)
    response = agent_client.get("/api/leads/export")
    assert response.status_code == HTTPStatus.OK
    expected = export_before(list(lead_list(tenant=agent)))
    assert body_of(response) == expected


def test_every_export_column_reads_the_same_from_a_row_as_from_the_model(agent):
    lead = make_lead(agent, dob=date(1970, 2, 3), price=Decimal("7.25"), notes="n", street2="s")
    lead = Lead.objects.get(pk=lead.pk)
    (values,) = Lead.objects.filter(pk=lead.pk).values_list(*ExportRow._fields)
    row = ExportRow._make(values)
    for name, value in EXPORT_COLUMNS:
        assert value(row) == value(lead), name


# --- The export written by PostgreSQL (COPY) -----------------------------------------------------

MESSY_TEXTS = [
    "=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "x\r", 'say "hi", ok', "line\nbreak",
    "crlf\r\nend", "", " padded ", "\u00a0nbsp\u2003", "\x0bvt\x1f", "Zoë Muñoz", "🐊 emoji",
    "back\\slash", "semi;colon", "'quoted", "a,b", "\u2028sep", "\\.", "NULL", "\\N",
]  # fmt: skip
MESSY_PHONES = [
    "+12104611180", "+447946095800", "+33142685300", "+4930901820", "2104611180 raw",
    "+1210461118", "", "=HYPERLINK()", "+8613800138000",
]  # fmt: skip


def python_export(leads: Any) -> bytes:
    """The export through the csv module (the path SQLite keeps), rows after the header."""
    rows = leads.values_list(*exports.ROW_FIELDS).iterator(chunk_size=100)
    return "".join(
        chunk for batch in iter(lambda: exports._csv_chunks_from(rows), []) for chunk in batch
    ).encode()


def copy_export(leads: Any) -> bytes:
    rows = exports._copied_rows(leads, exports._foreign_phones(leads))
    return b"".join(
        chunk for batch in iter(lambda: exports._copied_chunks_from(rows), []) for chunk in batch
    )


def messy_phone(i: int) -> str:
    """Each of MESSY_PHONES once, then US, foreign and empty phones (a phone is unique)."""
    if i < len(MESSY_PHONES):
        return MESSY_PHONES[i]
    return (f"+1312555{i:04d}", f"+44794609{i:04d}", "")[i % 3]


@pytest.fixture
def messy_leads(agent, other_agent):
    texts = MESSY_TEXTS
    for i in range(300):
        lead = make_lead(
            agent,
            first_name=texts[i % len(texts)],
            last_name=texts[(i * 7 + 3) % len(texts)],
            email=""
            if i % 4 == 0 and messy_phone(i)
            else f"{texts[(i * 5 + 1) % len(texts)]}{i}@x.io",
            phone=messy_phone(i),
            street1=texts[(i * 3) % len(texts)],
            city=texts[(i * 11) % len(texts)],
            notes=texts[(i * 13 + 5) % len(texts)] + f" {i}, with commas",
            dob=date(1900 + i % 120, 1 + i % 12, 1 + i % 28) if i % 2 else None,
            price=(Decimal("12.50"), Decimal("-2.00"), Decimal("0.00"), None, Decimal("99.9"))[
                i % 5
            ],
            nextgen_id=f"{texts[(i * 17) % len(texts)]}{i}" if i % 2 else "",
            campaign_name="Spring, 2024",
            disposition=("", "Sold", "Unhealthy/Referred", "=cmd")[i % 4],
            do_not_call=i % 6 == 0,
            time_zone=("America/Chicago", "", "-05:00")[i % 3],
        )
        set_created_at(lead, START + timedelta(seconds=i * 1.5, microseconds=(i % 3) * 7))
    make_lead(other_agent, first_name="=other")
    return agent


@pytest.mark.parametrize(
    "filters",
    [
        LeadFilters(),
        LeadFilters(sort_by="name", sort_direction="asc"),
        LeadFilters(search="ann", sort_by="phone"),
        LeadFilters(search="1180"),
        LeadFilters(dispositions=["Sold", "No Disposition"], states=["TX"]),
    ],
)
def test_the_copy_export_is_byte_identical_to_the_csv_module(messy_leads, filters):
    leads = lead_list(tenant=messy_leads, filters=filters)
    expected = python_export(leads)
    assert expected.count(b"\r\n") >= leads.count()
    assert copy_export(leads) == expected


def test_the_export_api_answers_the_copy_bytes(messy_leads, agent_client):
    response = agent_client.get("/api/leads/export", {"sortBy": "email", "sortDirection": "asc"})
    leads = lead_list(
        tenant=messy_leads, filters=LeadFilters(sort_by="email", sort_direction="asc")
    )
    header = body_of(agent_client.get("/api/leads/export", {"search": "no such lead"}))
    assert body_of(response) == header + python_export(leads)


def test_too_many_foreign_phones_take_the_python_path_with_the_same_bytes(
    messy_leads, agent_client, monkeypatch
):
    monkeypatch.setattr(exports, "MAX_FOREIGN_PHONES", 2)
    leads = lead_list(tenant=messy_leads)
    assert exports._foreign_phones(leads) is None
    header = body_of(agent_client.get("/api/leads/export", {"search": "no such lead"}))
    assert body_of(agent_client.get("/api/leads/export")) == header + python_export(leads)


def test_the_whitespace_the_name_strips_is_pythons(agent):
    every = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())
    assert every == exports.PYTHON_WHITESPACE


def test_a_client_leaving_mid_export_leaves_the_connection_usable(agent):
    make_leads(agent, exports.ROWS_PER_FETCH + 10)

    async def leave_early() -> None:
        chunks = exports.csv_chunks(lead_list(tenant=agent))
        await anext(chunks)
        await anext(chunks)
        await chunks.aclose()

    async_to_sync(leave_early)()
    assert Lead.objects.filter(tenant=agent).count() == exports.ROWS_PER_FETCH + 10

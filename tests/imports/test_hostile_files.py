"""Hostile CSV files: each imports its usable rows with per-row errors and warnings, or is refused
at upload with a 400; never a failed import for one bad row (docs/imports-hostile-files.md).

On PostgreSQL: COPY, NUL bytes and column limits only bite there.
"""

import codecs
import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import pytest

from imports.models import ImportJob, ImportRowError
from leads.models import Lead
from tests.factories import make_lead
from tests.imports.conftest import streamed_text

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ANN, BO, CY = "+12104611180", "+12104611181", "+12104611182"
THIRTY_DIGITS = "123456789012345678901234567890"
NEXTGEN_HEADER = (
    "lead_id,purchase_id,vendor_id,first_name,phone,email,zipcode,dob,height,household_size,"
    "price,product,call_duration,created_at"
)


def crlf(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


NUL_IN_A_NAME = crlf("Phone,Email,First Name", "2104611180,,A\x00nn", "2104611181,,Bo")
NUL_IN_A_NAME_CP1252 = crlf("Phone,Email,First Name", "2104611180,,A\x00nné", "2104611181,,Bo")


@dataclass
class Case:
    content: bytes
    # the phone (or else email) of every lead the tenant should hold afterwards
    stored: set[str]
    # line → part of its error message (the row is in errors.csv)
    errors: dict[int, str] = field(default_factory=dict)
    # line → part of one of its warnings
    warnings: dict[int, str] = field(default_factory=dict)
    # phone → field values its lead must have
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


CLEANED_NAME = {ANN: {"first_name": "Ann"}}
NUL_WARNING = {2: "control characters removed (U+0000)"}

IMPORTED_CASES = {
    # NUL bytes, in every encoding the importer reads
    "nul in utf-8 with bom": Case(
        codecs.BOM_UTF8 + NUL_IN_A_NAME.encode(), {ANN, BO}, {}, NUL_WARNING, CLEANED_NAME
    ),
    "nul in utf-8": Case(NUL_IN_A_NAME.encode(), {ANN, BO}, {}, NUL_WARNING, CLEANED_NAME),
    "nul in utf-16 with bom": Case(
        NUL_IN_A_NAME.encode("utf-16"), {ANN, BO}, {}, NUL_WARNING, CLEANED_NAME
    ),
    "nul in utf-16-be with bom": Case(
        codecs.BOM_UTF16_BE + NUL_IN_A_NAME.encode("utf-16-be"),
        {ANN, BO},
        {},
        NUL_WARNING,
        CLEANED_NAME,
    ),
    "nul in utf-16-le without bom": Case(
        NUL_IN_A_NAME.encode("utf-16-le"), {ANN, BO}, {}, NUL_WARNING, CLEANED_NAME
    ),
    "nul in utf-16-be without bom": Case(
        NUL_IN_A_NAME.encode("utf-16-be"), {ANN, BO}, {}, NUL_WARNING, CLEANED_NAME
    ),
    "nul in windows-1252": Case(
        NUL_IN_A_NAME_CP1252.encode("cp1252"),
        {ANN, BO},
        {},
        NUL_WARNING,
        {ANN: {"first_name": "Anné"}},
    ),
    # NUL bytes in every kind of cell
    "nul in a phone": Case(
        b"Phone,Email\n21046\x0011180,\n2104611181,\n", {ANN, BO}, {}, NUL_WARNING
    ),
    "nuls in a header and a vendor field": Case(
        b"Phone,Sub\x00Id\n2104611180,x\x00\x00y\n",
        {ANN},
        {},
        {2: "(U+0000 \u00d72)"},
        {ANN: {"vendor_data": {"SubId": "xy"}}},
    ),
    "nul in a quoted note over two lines": Case(
        b'Phone,Notes\n2104611180,"one\x00\ntwo"\n2104611181,\n',
        {ANN, BO},
        {},
        NUL_WARNING,
        {ANN: {"notes": "one\ntwo"}},
    ),
    "nul in a row without phone or email": Case(
        b"Phone,Email,First Name\n\x00,\x00,Nob\x00ody\n2104611180,,Ann\n",
        {ANN},
        {2: "No usable phone or email"},
    ),
    "other control characters": Case(
        b"Phone,First Name\n2104611180,\x1b[1mAnn\x07\x0b\n",
        {ANN},
        {},
        {2: "U+0007, U+000B, U+001B"},
        {ANN: {"first_name": "[1mAnn"}},
    ),
    # Values past their column, or out of any sane range
    "30-digit numbers in every numeric field": Case(
        crlf(
            NEXTGEN_HEADER,
            ",".join(["NG1", "P1", "7", "Ann", "2104611180", ""] + [THIRTY_DIGITS] * 5)
            + f",data,{THIRTY_DIGITS},{THIRTY_DIGITS}",
        ).encode(),
        {ANN},
        {},
        {2: "price"},
        {ANN: {"price": None, "household_size": None, "call_duration": None, "dob": None}},
    ),
    "negative and huge prices": Case(
        b"Phone,Price\n2104611180,-5\n2104611181,100000000\n2104611182,1e400\n",
        {ANN, BO, CY},
        {},
        {2: "price is negative", 3: "price is too large", 4: "not a valid price"},
        {ANN: {"price": None}, BO: {"price": None}, CY: {"price": None}},
    ),
    "dates in year 0 and 9999": Case(
        crlf(
            NEXTGEN_HEADER,
            "NG1,P1,7,Ann,2104611180,,,0000-01-01,,,,data,,0000-01-01T00:00:00Z",
            "NG2,P2,7,Bo,2104611181,,,9999-12-31,,,,data,,9999-12-31T23:59:59-05:00",
            "NG3,P3,7,Cy,2104611182,,,,,,,data,,0001-01-01T00:00:00+05:00",
        ).encode(),
        {ANN, BO, CY},
        {},
        {2: "not a valid date", 3: "not a date between 1900 and 2100", 4: "not a date between"},
        {ANN: {"dob": None, "vendor_created_at": None}, BO: {"vendor_created_at": None}},
    ),
    "500-character emails and 40-digit phones": Case(
        crlf(
            "Phone,Email",
            f"2104611180,{'a' * 488}@example.com",
            f"{'9' * 40},",
            f"{'9' * 40},bo@example.com",
        ).encode(),
        {ANN, "bo@example.com"},
        {3: "not a valid US phone number"},
        {2: "not a valid email address", 4: "not a valid US phone number"},
    ),
    "overlong texts are cut to their column": Case(
        f"Phone,First Name,City\n2104611180,{'n' * 10_000},{'c' * 300}\n".encode(),
        {ANN},
        {},
        {2: "longer than 100 characters; cut short"},
        {ANN: {"first_name": "n" * 100, "city": "c" * 100}},
    ),
    # A premium listing whose price, added to its lead's, passes the price column: the sum is
    # capped at the column's maximum (leads.bounds.MAX_PRICE), never refused by the database.
    # What the database still refuses fails row by row: the writer tests below.
    "a premium sum past the price column": Case(
        crlf(
            "lead_id,vendor_id,phone,product,price",
            "NG1,7,2104611180,data,90000000",
            "NG1,7,2104611180,ad,20000000",
            "NG2,7,2104611181,data,10",
        ).encode(),
        {ANN, BO},
        {},
        {},
        {ANN: {"price": Decimal("99999999.99")}, BO: {"price": Decimal("10.00")}},
    ),
    # The shape of the file
    "duplicate column names": Case(
        b"Phone,Notes,Notes,X,X\n2104611180,a,b,c,d\n",
        {ANN},
        {},
        {},
        {ANN: {"notes": "a", "vendor_data": {"Notes": "b", "X": "c", "X (2)": "d"}}},
    ),
    "a header cell of 10,000 characters": Case(
        b"Phone," + b"H" * 10_000 + b"\n2104611180,x\n",
        {ANN},
        {},
        {},
        {ANN: {"vendor_data": {"H" * 10_000: "x"}}},
    ),
    "a header of 10,000 columns": Case(
        ("Phone," + ",".join(f"c{i}" for i in range(10_000)) + "\n2104611180,x\n").encode(),
        {ANN},
        {},
        {},
        {ANN: {"vendor_data": {"c0": "x"}}},
    ),
    "a row of 10,000 columns": Case(
        b"Phone,Email\n2104611180," + b"x," * 10_000 + b"\n2104611181,\n", {ANN, BO}
    ),
    "a rejected row of 10,000 columns": Case(
        b"Phone,Email\nnope," + b"x," * 10_000 + b"\n2104611181,\n", {BO}, {2: "No usable"}
    ),
    "a line of delimiters only": Case(b"Phone,Email\n,,,,,,\n\t,\n2104611180,\n", {ANN}),
    "mixed line endings": Case(b"Phone\r\n2104611180\n2104611181\r2104611182\r\n", {ANN, BO, CY}),
    "lone carriage returns": Case(b"Phone\r2104611180\r2104611181", {ANN, BO}),
    "a header-only file": Case(b"Phone,Email\n", set()),
    "a header-only utf-16 file": Case("Phone,Email\r\n".encode("utf-16"), set()),
}


def imported_job(client, upload, content: bytes) -> dict:
    response = upload(client, content)
    assert response.status_code in (HTTPStatus.CREATED, HTTPStatus.ACCEPTED), response.json()
    return client.get(response.json()["url"]).json()


def lead_key(lead: Lead) -> str:
    return lead.phone or lead.email


@pytest.mark.parametrize("case", IMPORTED_CASES.values(), ids=IMPORTED_CASES.keys())
def test_hostile_file_imports_its_usable_rows(
    agent_client, agent, other_client, other_agent, upload, case
):
    theirs = make_lead(other_agent, phone=ANN, email="theirs@example.com")

    job = imported_job(agent_client, upload, case.content)

    assert job["status"] == "done", ImportJob.objects.get().failure
    stats = job["stats"]
    assert stats["processed"] == sum(stats[k] for k in ("imported", "updated", "skipped", "failed"))
    assert stats["failed"] == len(case.errors)
    leads = {lead_key(lead): lead for lead in Lead.objects.filter(tenant=agent)}
    assert set(leads) == case.stored
    for key, values in case.values.items():
        for name, value in values.items():
            assert getattr(leads[key], name) == value, name
    assert list(Lead.objects.filter(tenant=other_agent)) == [theirs]

    rejected = {error.line: error.message for error in ImportRowError.objects.all()}
    assert rejected.keys() == case.errors.keys()
    for line, message in case.errors.items():
        assert message in rejected[line]
    errors_csv = list(csv.reader(io.StringIO(streamed_text(agent_client.get(job["errorsUrl"])))))
    assert [int(row[0]) for row in errors_csv[1:]] == sorted(case.errors)
    assert not any("\x00" in cell for row in errors_csv for cell in row)

    warnings = ImportJob.objects.get().warnings
    for line, message in case.warnings.items():
        assert any(w["line"] == line and message in w["message"] for w in warnings), warnings


REFUSED_CASES = {
    "empty": (b"", "The file is empty."),
    "a byte order mark only": (codecs.BOM_UTF8, "no header row"),
    "a utf-16 byte order mark only": (codecs.BOM_UTF16_LE, "no header row"),
    "blank lines only": (b"\r\n \n,,\n", "no header row"),
    "a cell over the field size limit": (
        b"Phone,Notes\n2104611180,ok\n2104611181," + b"x" * 200_000 + b"\n",
        "Line 3: a field is longer than 128 KB",
    ),
    "invalid bytes deep in a utf-8 file with bom": (
        codecs.BOM_UTF8
        + b"Phone,Notes\n"
        + b"".join(b"2104611180,row %d\n" % n for n in range(2, 100_000))
        + b"2104611181,bad \xff\xfe here\n",
        "Line 100000: this line holds bytes that are not UTF-8 text.",
    ),
    "invalid bytes deep in a utf-8 file without bom": (
        "Phone,Notes\n2104611180,José\n".encode()
        + b"".join(b"2104611180,row %d\n" % n for n in range(3, 100_000))
        + b"2104611181,bad \xff here\n",
        "Line 100000: this line holds bytes that are not UTF-8 text.",
    ),
    "invalid bytes deep in a utf-16 file": (
        "Phone,Notes\n".encode("utf-16")
        + "".join(f"2104611180,row {n}\n" for n in range(2, 50_000)).encode("utf-16-le")
        + b"\x00\xd8\x41\x00",  # a lone high surrogate
        "Line 50000: this line holds bytes that are not UTF-16 text.",
    ),
    "binary data": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "binary data"),
    "no phone or email column in a huge header": (
        ",".join(f"{'c' * 100}{i}" for i in range(1000)).encode() + b"\nx\n",
        "and 970 more.",
    ),
}


@pytest.mark.parametrize(("content", "message"), REFUSED_CASES.values(), ids=REFUSED_CASES.keys())
def test_unusable_file_is_refused_at_upload(agent_client, upload, content, message):
    response = upload(agent_client, content)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.json()["error"]
    assert len(response.json()["error"]) < 5000
    assert not ImportJob.objects.exists()
    assert not Lead.objects.exists()


def test_errors_csv_neutralises_formula_cells_of_the_header_too(agent_client, upload):
    content = b"Phone,=cmd|' /C calc'!A0,+x,-y,@z\nN/A,=1+1,+2,-3,@4\n"
    job = imported_job(agent_client, upload, content)

    rows = list(csv.reader(io.StringIO(streamed_text(agent_client.get(job["errorsUrl"])))))

    assert rows[0] == ["line", "error", "Phone", "'=cmd|' /C calc'!A0", "'+x", "'-y", "'@z"]
    assert rows[1][2:] == ["N/A", "'=1+1", "'+2", "'-3", "'@4"]

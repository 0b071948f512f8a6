"""Decoding, delimiters, vendor detection and row conversion of uploaded CSV files."""

import codecs
import gc
import io
import os
from datetime import date

import polars as pl
import pytest

from imports.models import ImportVendor
from imports.parsing import CsvRejected, RowConverter, csv_records, detect_layout, inspect_csv
from imports.parsing.layouts import UnknownColumns
from leads.models import LeadSource
from tests.imports.conftest import fixture_bytes

GENERIC = (
    "First Name,Last Name,Phone,Email,State,Zip\r\n"
    "José,Núñez,(210) 461-1180,jose@example.com,TX,78201\r\n"
)


def records(content: bytes) -> list[tuple[int, list[str]]]:
    stream = io.BytesIO(content)
    shape = inspect_csv(stream)
    return list(csv_records(stream, encoding=shape.encoding, delimiter=shape.delimiter))


def first_row_fields(content: bytes) -> dict:
    (_, header), (line, cells), *_ = records(content)
    return RowConverter(detect_layout(header), today=date(2026, 11, 25)).convert(line, cells).fields


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (GENERIC.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + GENERIC.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + GENERIC.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + GENERIC.encode("utf-16-be"), "utf-16"),
        (GENERIC.encode("cp1252"), "cp1252"),
    ],
)
def test_each_encoding_decodes_accents_correctly(encoded, encoding):
    assert inspect_csv(io.BytesIO(encoded)).encoding == encoding

    fields = first_row_fields(encoded)

    assert fields["first_name"] == "José"
    assert fields["last_name"] == "Núñez"


def test_cp1252_sample_from_excel_keeps_its_accents():
    content = fixture_bytes("marketplace_export_sample.csv")

    assert inspect_csv(io.BytesIO(content)).encoding == "cp1252"
    assert first_row_fields(content)["first_name"] == "José"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter):
    content = GENERIC.replace(",", delimiter).encode()

    assert inspect_csv(io.BytesIO(content)).delimiter == delimiter
    assert first_row_fields(content)["phone"] == "+12104611180"


def test_quoted_commas_and_newlines_stay_in_their_field_and_blank_lines_are_skipped():
    content = (
        b'Name,Phone,Address\n\n"Lee, Ann",2104611180,"9 Pine Rd\nUnit B"\n,,\n'
        b"Bo Diddley,2104611181,12 Main St\n\n"
    )

    rows = records(content)

    assert [line for line, _ in rows] == [1, 3, 6]
    assert rows[1][1] == ["Lee, Ann", "2104611180", "9 Pine Rd\nUnit B"]
    assert inspect_csv(io.BytesIO(content)).data_rows == 2


@pytest.mark.parametrize(
    ("sample", "vendor", "source"),
    [
        ("nextgen_export_sample.csv", ImportVendor.NEXTGEN, LeadSource.NEXTGEN),
        ("marketplace_export_sample.csv", ImportVendor.MARKETPLACE, LeadSource.MARKETPLACE),
        ("spreadsheet_leads_sample.csv", ImportVendor.GENERIC, LeadSource.CSV_IMPORT),
    ],
)
def test_vendor_is_detected_from_the_header(sample, vendor, source):
    header = inspect_csv(io.BytesIO(fixture_bytes(sample))).header

    layout = detect_layout(header)

    assert (layout.vendor, layout.source) == (vendor, source)


def test_vendor_markers_ignore_case_and_whitespace():
    layout = detect_layout([" Lead_ID ", "PURCHASE_ID", "Phone", "EMAIL"])

    assert layout.vendor == ImportVendor.NEXTGEN
    assert {c.field for c in layout.columns} == {"nextgen_id", "purchase_id", "phone", "email"}


def test_marketplace_is_told_from_nextgen_by_its_own_columns():
    assert detect_layout(["leadID", "primaryPhone", "email"]).vendor == ImportVendor.MARKETPLACE
    assert detect_layout(["lead_id", "phone", "email"]).vendor == ImportVendor.GENERIC


def test_headers_without_phone_or_email_list_what_was_expected_and_found():
    with pytest.raises(UnknownColumns) as error:
        detect_layout(["Customer", "Telefax", "Comments"])

    message = str(error.value)
    assert "Phone, Phone Number, Mobile, Cell, Email or E-mail" in message
    assert "Found: Customer, Telefax, Comments" in message


def test_unmapped_columns_go_to_vendor_data():
    fields = first_row_fields(b"Phone,Favourite Color,tenant,owner\n2104611180,teal,7,bob\n")

    assert fields["vendor_data"] == {"Favourite Color": "teal", "tenant": "7", "owner": "bob"}
    assert "tenant_id" not in fields and "assigned_to_id" not in fields


def test_nextgen_row_is_normalised_through_the_shared_module():
    content = (
        b"lead_id,purchase_id,phone,email,state,zip,dob,gender,height,tobacco_user,price,product,"
        b"status,created_at\n"
        b"NG1,P1,1-860-200-0001,  ANN@Example.COM ,ct,6247,3/15/1980,female,70,Y,$38.50,DATA,"
        b"contacted,2026-11-20T14:03:00Z\n"
    )

    fields = first_row_fields(content)

    assert fields["phone"] == "+18602000001"
    assert fields["email"] == "ann@example.com"
    assert (fields["state"], fields["zipcode"]) == ("CT", "06247")
    assert fields["dob"] == date(1980, 3, 15)
    assert (fields["gender"], fields["height"]) == ("Female", "5'10\"")
    assert fields["tobacco_user"] is True
    assert str(fields["price"]) == "38.50"
    assert (fields["product"], fields["status"]) == ("data", "Contacted")


def test_unparseable_values_are_left_empty_with_a_warning_and_the_row_still_imports():
    content = b"phone,email,dob,status,purchase_id\n2104611180,,13/45/1999,bogus,P1\n"
    (_, header), (line, cells) = records(content)

    row = RowConverter(detect_layout(header)).convert(line, cells)

    assert not row.error
    assert "dob" not in row.fields and "status" not in row.fields
    assert row.warnings == [
        'dob: not a valid date: "13/45/1999"; left empty',
        'status: not a lead status: "bogus"; left as New',
    ]


def test_a_row_without_usable_phone_or_email_fails_with_its_reason():
    content = b"Phone,Email,First Name\nN/A,not-an-email,Ann\n"
    (_, header), (line, cells) = records(content)

    row = RowConverter(detect_layout(header)).convert(line, cells)

    assert row.error.startswith("No usable phone or email (Phone: not a valid US phone number")
    assert 'Email: not a valid email address: "not-an-email"' in row.error


def test_formula_looking_values_are_kept_raw():
    fields = first_row_fields(b'First Name,Phone\n"=HYPERLINK(""x"",""y"")",2104611180\n')

    assert fields["first_name"] == '=HYPERLINK("x","y")'


def test_our_own_export_maps_back_and_loses_its_formula_guard():
    content = (
        b"\xef\xbb\xbfid,name,firstName,lastName,email,phone,state,zipcode,source,status,"
        b"nextgenId,timeZone,createdAt\n"
        b"17,'=cmd Lee,'=cmd,Lee,ann@example.com,(210) 461-1180,TX,78201,NextGen,Won,NG7,"
        b"America/Chicago,2026-11-25T10:00:00+00:00\n"
    )

    fields = first_row_fields(content)

    assert fields["first_name"] == "=cmd"
    assert (fields["phone"], fields["nextgen_id"], fields["status"]) == (
        "+12104611180",
        "NG7",
        "Won",
    )
    assert "vendor_data" not in fields  # id, name, source, timeZone, createdAt are derived


def test_generic_name_column_is_split():
    fields = first_row_fields(b"Name,Cell\nMary Ann Smith,2104611180\n")
    assert (fields["first_name"], fields["last_name"]) == ("Mary Ann", "Smith")
    fields = first_row_fields(b'Name,Cell\n"Smith, Mary",2104611180\n')
    assert (fields["first_name"], fields["last_name"]) == ("Mary", "Smith")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file has no header row."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b'Phone,Notes\n2104611180,ok\n2104611181,"never closed\n2104611182,x\n', "Line 3"),
        (b"Phone,Notes\n2104611180," + b"x" * 300_000 + b"\n", "Line 2: a field is longer"),
        (b'Phone,Notes\n2104611180,"quoted"junk\n', "Line 2: malformed CSV"),
        (b"Phone\n\x81\x8d\x8f\x90\n", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_files_that_cannot_be_read_are_rejected_with_the_line(content, message):
    with pytest.raises(CsvRejected) as error:
        inspect_csv(io.BytesIO(content))

    assert message in str(error.value)


# --- Batches: converted a column at a time, each record as if alone -------------------------

MIXED_GENERIC = (
    b"Name,First Name,Phone,Mobile,Email,State,Zip,Zip Code,DOB,Status,Notes,NextGen ID,Extra\n"
    b"Mary Ann Smith,,(210) 461-1180,,,TX,78201,,1980-02-03,won,hi,NG1,a\n"
    b",Bob,N/A,210 461 1181,bob@example.com,tx,,78202,13/45/1999,bogus,,,\n"
    b"Cy Young,,N/A,,not-an-email,CA,,,,,,,\n"
    b",Dee,,,dee@example.com,Texas,7820,,02/03/1980,New,,,b\n"
    b",Eve,+44 20 7946 0958,,,ZZ,99999,,,Contacted,,,\n"
    b",Fay,(210) 461-1182,,,TX,78201,,1980-02-03,won,,NG2,\n"
    b",,2104611183,,,\n"
)
MIXED_NEXTGEN = (
    "lead_id,purchase_id,first_name,phone,email,state,zipcode,dob,price,product,status\n"
    f"{'X' * 120},P1,Ann,2104611180,,TX,78201,1980-02-03,$45.00,data,new\n"
    "NG2,P2,,2104611181,,TX,78201,1980-02-03,abc,ad,nope\n"
    f"NG3,P3,{'Z' * 300},,zed@example.com,CA,90001,,45,data,\n"
    "NG4,P4,Nope,555,,TX,78201,,,data,\n"
).encode()


@pytest.mark.parametrize("content", [MIXED_GENERIC, MIXED_NEXTGEN])
def test_a_batch_converts_each_record_as_if_it_were_alone(content):
    (_, header), *rows = records(content)
    layout = detect_layout(header)

    batch = RowConverter(layout, today=date(2026, 11, 25)).convert_batch(rows)

    for row, (line, cells) in enumerate(rows):
        alone = RowConverter(layout, today=date(2026, 11, 25)).convert(line, cells)
        assert batch.lines[row] == alone.line
        assert batch.fields(row) == alone.fields
        assert batch.warnings.get(row, []) == alone.warnings
        assert batch.errors.get(row, "") == alone.error
    assert batch.errors and batch.warnings  # the sample has both
    assert batch.usable_leads().count == len(rows) - len(batch.errors)


def test_a_long_file_forgets_remembered_values_without_changing_any(monkeypatch):
    monkeypatch.setattr("imports.parsing.rows.CACHE_LIMIT", 3)
    lines = ["phone,state,dob,zip"] + [
        f"210461{number:04d},{state},1980-01-{day:02d},7820{day % 10}"
        for number, (state, day) in enumerate(
            (state, day) for day in range(1, 29) for state in ("TX", "CA", "NY", "bogus")
        )
    ]
    (_, header), *rows = records("\n".join(lines).encode())
    converter = RowConverter(detect_layout(header), today=date(2026, 11, 25))

    batches = [converter.convert_batch(rows[start : start + 10]) for start in range(0, 112, 10)]

    converted = [batch.fields(row) for batch in batches for row in range(len(batch))]
    expected = [
        RowConverter(detect_layout(header), today=date(2026, 11, 25)).convert(line, cells).fields
        for line, cells in rows
    ]
    assert converted == expected
    assert {fields["dob"].day for fields in converted} == set(range(1, 29))


def test_converting_invalid_values_leaves_no_reference_cycles():
    # Imports pause the cyclic collector (imports.services.collector_paused): a value error kept
    # with its traceback would hold the batch's frames, and with them the batch, until the end.
    header = ["Phone", "Email", "State", "Zip", "DOB", "Price"]
    converter = RowConverter(detect_layout(header), today=date(2026, 11, 25))
    rows = [
        (
            line,
            [
                f"555-01{line:02d}",
                f"bad{line}@",
                f"Statey{line}",
                f"1{line}",
                f"13/45/19{line}",
                "x",
            ],
        )
        for line in range(2, 40)
    ]
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        batch = converter.convert_batch(rows)
        assert len(batch.errors) == len(rows)
        del batch
        gc.collect()
        kept = [type(item).__name__ for item in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert "frame" not in kept


def test_polars_uses_the_threads_the_settings_give_it():
    # Read by Polars when first imported: the settings must come first (crokodial/settings.py).
    assert pl.thread_pool_size() == int(os.environ["POLARS_MAX_THREADS"])


def test_polars_allocator_gives_memory_back_at_once():
    # Polars appends the variable to its own defaults when first imported; later ones win.
    assert os.environ["_RJEM_MALLOC_CONF"].endswith(",dirty_decay_ms:0,muzzy_decay_ms:0")

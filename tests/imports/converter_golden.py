"""Inputs for the converter's golden test, and the tool that wrote its expected answers.

`golden_inputs()` builds, from fixed seeds, the records the converter is checked on: the sample
files, 3,000 rows of the benchmark's messy NextGen export, and 3,000 rows of a generic spreadsheet
whose every column holds the shapes vendors send, valid and broken (padding in odd whitespace,
fallback phone and ZIP columns, names to split, columns kept as vendor data, over-long text).
tests/imports/fixtures/converted_golden.json.gz holds what the converter answered for each record
(fields, warnings, error) at commit ae0dfaa, before the columnar rewrite of issue 13: the row
rules of that converter are the reference the new one must reproduce exactly.

    python -m tests.imports.converter_golden   # rewrite the expected answers (reference code only)
"""

import gzip
import io
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "converted_golden.json.gz"
TODAY = date(2026, 11, 25)

PADS = ["", "", "", " ", "  ", "\t", "\xa0", "\u2003", " \n"]
PHONES = [
    "{a}{b}{c}",
    "({a}) {b}-{c}",
    "{a}-{b}-{c}",
    "{a}.{b}.{c}",
    "1{a}{b}{c}",
    "+1 {a} {b} {c}",
    "1-{a}-{b}-{c}",
    "+44 20 7946 0958",
    "{a}{b}",
    "555-0100",
    "n/a",
    "",
    "",
    "+{a}{b}{c}",
    "１{a}{b}{c}",
    "{a} {b} {c} ext 12",
    "000-000-0000",
    "{a}{b}{c}{c}",
]
EMAILS = [
    "{u}@example.com",
    "{U}@Example.COM",
    " {u}@mail.example.org ",
    "{u}@@example.com",
    "{u}",
    "",
    "",
    "{u}+tag@example.co.uk",
    "{u}@exämple.com",
    "{u}@example",
    "mailto:{u}@x.io",
    "{u}.@example.com",
]
STATES = [
    "CA",
    "ca",
    "California",
    "new york",
    "N.Y.",
    "TX ",
    "Tex",
    "ZZ",
    "",
    "Puerto Rico",
    "d.c.",
]
ZIPS = [
    "02110",
    "2110",
    "02110-1234",
    "021101234",
    "90210",
    " 10001 ",
    "ABCDE",
    "",
    "00000",
    "1234567",
]
DOBS = [
    "1980-05-17",
    "05/17/1980",
    "17/05/1980",
    "5/7/1980",
    "1980/05/17",
    "May 17, 1980",
    "1980",
    "02/30/1990",
    "13/13/1990",
    "",
    "2030-01-01",
    "1899-12-31",
    "17.05.1980",
    "19800517",
    "5/7/80",
    "yesterday",
]
GENDERS = ["M", "F", "male", "Female", "x", "", "?", "Non-binary"]
HEIGHTS = ["5'10", "5'10\"", "70", "5 ft 10 in", "", "tall", "510", "6'"]
BOOLS = ["yes", "No", "TRUE", "0", "1", "y", "n", "", "maybe", "t", "F"]
STATUSES = ["new", "New", "follow up", "Follow-Up", "followup", "sold", "Contacted", "", "bogus"]
PRICES = ["$12.50", "12", "0.5", "1e3", "-5", "99999999999", "abc", "", "$ 7", "3.999", "12.345"]
COUNTS = ["1", "2.0", "3.5", "-1", "40000", "", "many", "2147483648"]
DATETIMES = [
    "2026-11-01 10:00:00",
    "2026-11-01T10:00:00Z",
    "2026-11-01",
    "11/01/2026",
    "",
    "0000-01-01",
    "2026-11-01T10:00:00+05:00",
    "garbage",
    "9999-12-31T23:59:59-14:00",
]
WORDS = ["Ann", "José", "O'Neil", "van der Berg", "Smith, John", "  ", "=cmd|' /C calc'!A0", "Lee"]


def _pad(rng: random.Random, value: str) -> str:
    return rng.choice(PADS) + value + rng.choice(PADS)


def _phone(rng: random.Random) -> str:
    shape = rng.choice(PHONES)
    area = rng.choice(["212", "415", "876", "809", "305", "555", "999", "011"])
    return shape.format(a=area, b=f"{rng.randrange(200, 999)}", c=f"{rng.randrange(10000):04d}")


def _email(rng: random.Random, number: int) -> str:
    user = f"lead{number % 2500}"
    return rng.choice(EMAILS).format(u=user, U=user.upper())


def generic_file(rows: int, seed: int) -> str:
    """A spreadsheet with every kind of column, fallbacks, names to split and kept columns."""
    rng = random.Random(seed)
    header = [
        "Full Name",
        "Phone",
        "Mobile",
        "Cell",
        "E-mail",
        "Zip",
        "Postal Code",
        "State",
        "DOB",
        "Gender",
        "Height",
        "Weight",
        "Notes",
        "Status",
        "Price",
        "Campaign",
        "NextGen ID",
        "Custom A",
        "Custom B",
        "Custom A",
        "Address",
    ]
    out = io.StringIO()
    import csv

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for number in range(rows):
        long_text = "x" * rng.choice([10, 300, 5000]) if rng.random() < 0.05 else "Main St"
        writer.writerow(
            [
                _pad(rng, " ".join(rng.sample(WORDS, rng.randrange(0, 3)))),
                _pad(rng, _phone(rng)),
                _pad(rng, _phone(rng)) if rng.random() < 0.4 else "",
                _pad(rng, _phone(rng)) if rng.random() < 0.2 else "",
                _pad(rng, _email(rng, number)),
                _pad(rng, rng.choice(ZIPS)),
                _pad(rng, rng.choice(ZIPS)) if rng.random() < 0.3 else "",
                _pad(rng, rng.choice(STATES)),
                _pad(rng, rng.choice(DOBS)),
                _pad(rng, rng.choice(GENDERS)),
                _pad(rng, rng.choice(HEIGHTS)),
                rng.choice(["", "180", "80kg"]),
                rng.choice(["", "call back", "line1\nline2", long_text]),
                _pad(rng, rng.choice(STATUSES)),
                _pad(rng, rng.choice(PRICES)),
                rng.choice(["", "Spring", "=1+1"]),
                rng.choice(["", "", f"NG{number % 2800}", "x" * 70]),
                rng.choice(["", "a", "b\tc"]),
                rng.choice(["", "kept", " "]),
                rng.choice(["", "dup"]),
                long_text,
            ]
        )
    return out.getvalue()


def nextgen_file(rows: int, seed: int) -> str:
    """The benchmark's messy NextGen export, with the odd columns made odder."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate_nextgen_csv import write_export

    path = Path(f"/tmp/converter-golden-{rows}-{seed}.csv")
    write_export(path, rows, seed=seed)
    text = path.read_text(encoding="utf-8")
    path.unlink()
    import csv

    rng = random.Random(seed)
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = records[0]
    odd = {
        "household_size": COUNTS, "call_duration": COUNTS, "military": BOOLS, "status": STATUSES,
        "created_at": DATETIMES, "product": ["data", "ad", "AD ", "", "bogus"], "price": PRICES,
    }  # fmt: skip
    for record in records[1:]:
        for name, values in odd.items():
            if name in header and rng.random() < 0.3:
                record[header.index(name)] = _pad(rng, rng.choice(values))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    return out.getvalue()


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from imports.parsing import csv_records

    records = csv_records(io.BytesIO(text.encode("utf-8")), encoding="utf-8", delimiter=",")
    header = next(records)[1]
    return header, list(records)


def golden_inputs() -> Iterator[tuple[str, list[str], list[tuple[int, list[str]]], Any]]:
    """(name, header, records, date orders by column or None) of every input."""
    from imports.parsing.reading import detect_encoding

    for path in sorted(FIXTURES.glob("*.csv")):
        data = path.read_bytes()
        text = data.decode(detect_encoding(io.BytesIO(data)))
        header, records = _records(text)
        yield path.name, header, records, None
    header, records = _records(nextgen_file(3000, seed=7))
    yield "nextgen-3000", header, records, {header.index("dob"): "mdy"}
    header, records = _records(generic_file(3000, seed=11))
    yield "generic-3000", header, records, None
    yield "generic-3000-dmy", header, records, {header.index("DOB"): "dmy"}


def encoded(value: Any) -> Any:
    """A converted value as JSON that keeps its type."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, Decimal | date | datetime):
        return {type(value).__name__: str(value)}
    if isinstance(value, dict):
        return {"dict": value}
    raise TypeError(type(value))


def converted(header: list[str], records: list, date_orders: Any, batch_size: int) -> list:
    """What the converter answers for each record, converting `batch_size` records at a time."""
    from imports.parsing import RowConverter, detect_layout

    converter = RowConverter(detect_layout(header), today=TODAY, date_orders=date_orders)
    answers = []
    for start in range(0, len(records), batch_size):
        batch = converter.convert_batch(records[start : start + batch_size])
        for row in range(len(batch)):
            answers.append(
                {
                    "fields": {k: encoded(v) for k, v in sorted(batch.fields(row).items())},
                    "warnings": batch.warnings.get(row, []),
                    "error": batch.errors.get(row, ""),
                }
            )
    return answers


def main() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    golden = {
        name: converted(header, records, orders, batch_size=500)
        for name, header, records, orders in golden_inputs()
    }
    with gzip.open(GOLDEN, "wt", encoding="utf-8") as file:
        json.dump(golden, file, ensure_ascii=False, sort_keys=True)
    print({name: len(rows) for name, rows in golden.items()})


if __name__ == "__main__":
    main()

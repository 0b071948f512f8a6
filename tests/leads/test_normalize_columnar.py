"""The vectorised normalisers answer exactly what `leads.normalize` answers, value by value.

Values are generated per field in the shapes vendors send (those of the sample files and of
bench/generate_nextgen_csv.py, valid and broken) and as arbitrary text. For each value the
vectorised answer is either null (the caller asks the scalar normaliser) or the scalar answer.
"""

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leads import normalize_columnar as columnar
from leads.normalize import (
    _BOOL_BY_WORD,
    _STATE_NAME_BY_CODE,
    InvalidValue,
    normalize_dob,
    normalize_email,
    normalize_phone,
    normalize_state,
    normalize_zip,
    parse_bool,
    parse_price,
)

FIXTURES = Path(__file__).parents[1] / "imports" / "fixtures"
TODAY = date(2026, 11, 30)
SPACES = st.sampled_from(["", "", " ", "  ", "\t", "\n", "\r\n", "\xa0", "\x1c", "\u2003"])
DIGITS = "0123456789"

settings.register_profile(
    "columnar", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def scalar(normalise: Callable[[str], Any], raw: str) -> Any:
    try:
        return normalise(raw)
    except InvalidValue:
        return InvalidValue


def assert_agrees(
    vectorised: Callable[[pl.Series], pl.Series],
    normalise: Callable[[str], Any],
    raws: list[str],
) -> None:
    answers = vectorised(pl.Series(raws, dtype=pl.String)).to_list()
    assert len(answers) == len(raws)
    for raw, answer in zip(raws, answers, strict=True):
        if answer is not None:
            assert scalar(normalise, raw) == answer, raw
            assert type(answer) is type(normalise(raw)), raw


def header_key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.lower())


def sample_column(*names: str) -> list[str]:
    """Every value of the sample files' columns with these (normalised) names."""
    values = []
    for path in FIXTURES.glob("*.csv"):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:  # one sample is what Excel saves: Windows-1252
            text = data.decode("cp1252")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header = [header_key(name) for name in rows[0]]
        for index, name in enumerate(header):
            if name in names:
                values += [row[index] for row in rows[1:] if index < len(row)]
    return values


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda before, value, after: before + value + after, SPACES, values, SPACES)


def cased(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda value, how: [value, value.upper(), value.lower(), value.title()][how],
        values,
        st.integers(0, 3),
    )


def columns_of(values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(values, padded(values), st.text(max_size=12)), max_size=40)


# --- Phones ---------------------------------------------------------------------------------

NATIONAL = st.builds(
    lambda area, exchange, line: f"{area}{exchange}{line}",
    st.one_of(st.integers(100, 999).map(str), st.sampled_from(["876", "246", "809", "268"])),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
)
PHONE_SHAPES = [
    "{0}",
    "{1}-{2}-{3}",
    "({1}) {2}-{3}",
    "{1}.{2}.{3}",
    "1-{1}-{2}-{3}",
    "+1 {1} {2} {3}",
    "1{0}",
    "+1{0}",
    "+{0}",
    "+44 {1} {2} {3}",
    "{1} {2} {3} x12",
    "N/A",
    "{1}--{2}..{3}",
    "(({1})){2}{3}",
    "1 ({1}) {2} {3}",
    "11{0}",
    "{0}0",
]
PHONES = st.builds(
    lambda national, shape: shape.format(national, national[:3], national[3:6], national[6:]),
    NATIONAL,
    st.sampled_from(PHONE_SHAPES),
)


@settings(settings.get_profile("columnar"))
@given(columns_of(st.one_of(PHONES, st.text(alphabet=DIGITS + " ().-+x", max_size=16))))
@example(sample_column("phone", "phonenumber", "primaryphone", "mobile", "cell"))
@example(["876 606 0123", "(246) 230-1234", "2104611180", "+12104611180", "1 210 461 1180"])
def test_phones_agree_with_the_scalar_rule(raws: list[str]) -> None:
    assert_agrees(columnar.phones, normalize_phone, raws)


def test_every_nanp_number_is_judged_by_its_prefix_or_set_apart() -> None:
    apart = columnar.nanp_prefixes_apart()
    assert apart is not None  # else no phone would be vectorised
    assert "876606" in apart  # Jamaica's 876-606-0xxx: validity decided past the sixth digit
    answers = columnar.phones(pl.Series(["(210) 461-1180", "(876) 606-0123"])).to_list()
    assert answers == ["+12104611180", None]


# --- E-mails --------------------------------------------------------------------------------

LOCAL = st.text(alphabet="abcXYZ019._+-'!#é\"()@ ,", min_size=1, max_size=12)
DOMAIN = st.sampled_from(
    ["example.com", "EXAMPLE.com", "ex-ample.co.uk", "-bad.com", "x.c", "xn--bcher-kva.ch",
     "müller.de", "a..b.com", "1.2.3.4", "b.c0m", "mail.example.museum", "ex_ample.com"]
)  # fmt: skip
EMAILS = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN),
    st.emails().map(str),
    st.builds(lambda n: f"{'a' * n}@example.com", st.integers(240, 260)),
)


@settings(settings.get_profile("columnar"))
@given(columns_of(cased(EMAILS)))
@example(sample_column("email", "emailaddress"))
@example(["  SARAH.GARCIA.12@EXAMPLE.COM ", "josé.garcía.1@example.com", "a@b", "x@y.z"])
def test_emails_agree_with_the_scalar_rule(raws: list[str]) -> None:
    assert_agrees(columnar.emails, normalize_email, raws)


# --- States, ZIP codes ----------------------------------------------------------------------

STATES = st.one_of(
    st.sampled_from(list(_STATE_NAME_BY_CODE) + list(_STATE_NAME_BY_CODE.values())),
    st.sampled_from(["D.C.", "d. c.", "Washington  DC", "Virgin Islands", "N.Y.", "Texass", "T X"]),
    st.text(alphabet="abcNYTX. ", max_size=6),
)


@settings(settings.get_profile("columnar"))
@given(columns_of(cased(STATES)))
@example(sample_column("state", "st"))
def test_states_agree_with_the_scalar_rule(raws: list[str]) -> None:
    assert_agrees(columnar.states, normalize_state, raws)


ZIPS = st.one_of(
    st.builds(
        lambda digits, separator, plus: digits + (separator + plus if plus else ""),
        st.text(alphabet=DIGITS, min_size=3, max_size=6),
        st.sampled_from(["", "-", " ", "  ", "."]),
        st.text(alphabet=DIGITS, max_size=5),
    ),
    st.sampled_from(["00000", "7426.0", "12345-6789", "123456789", "12345678", "٠١٢٣٤"]),
)


@settings(settings.get_profile("columnar"))
@given(columns_of(ZIPS), st.sampled_from(["", "NJ", "PR", "TX", "ct"]))
@example(sample_column("zip", "zipcode", "postalcode"), "")
def test_zip_codes_agree_with_the_scalar_rule(raws: list[str], state: str) -> None:
    assert_agrees(columnar.zip_codes, lambda raw: normalize_zip(raw, state), raws)


# --- Yes/no, dates of birth, prices -----------------------------------------------------------

BOOLEANS = st.one_of(
    st.sampled_from(list(_BOOL_BY_WORD) + ["yes ", "Nope", "2", "oui", "ｙｅｓ"]),
    st.text(alphabet="yesnotruf01", max_size=5),
)


@settings(settings.get_profile("columnar"))
@given(columns_of(cased(BOOLEANS)))
def test_yes_no_answers_agree_with_the_scalar_rule(raws: list[str]) -> None:
    assert_agrees(columnar.booleans, parse_bool, raws)


DATES = st.builds(
    lambda year, month, day, shape: shape.format(y=year, m=month, d=day, yy=year % 100),
    st.integers(1850, 2100),
    st.integers(0, 14),
    st.integers(0, 32),
    st.sampled_from(
        [
            "{y}-{m:02d}-{d:02d}",
            "{y}-{m}-{d}",
            "{m}/{d}/{y}",
            "{m:02d}/{d:02d}/{y}",
            "{d}/{m}/{y}",
            "{y}/{m}/{d}",
            "{m}/{d}/{y}T00:00",
            "{m}-{d}-{y}",
            "{y}-{m:02d}-{d:02d}T00:00:00Z",
            "{m}/{d}/{yy:02d}",
            "{y:05d}-{m}-{d}",
            "N/A",
            "",
        ]
    ),  # fmt: skip
)


@settings(settings.get_profile("columnar"))
@given(columns_of(DATES))
@example(sample_column("dob", "dateofbirth", "birthdate"))
@example(["1980-03-15", "2/29/2000", "2/29/1900", "11/30/2026", "12/1/2026", "1/1/1900"])
def test_dates_of_birth_agree_with_the_scalar_rule(raws: list[str]) -> None:
    assert_agrees(
        lambda column: columnar.dates_of_birth(column, today=TODAY),
        lambda raw: normalize_dob(raw, today=TODAY),
        raws,
    )


@settings(settings.get_profile("columnar"))
@given(columns_of(DATES), st.booleans())
@example(["01/12/1968", "31/01/1980", "12/31/1980", "13/13/1980", "1980-03-15"], True)
@example(["01/12/1968", "31/01/1980", "12/31/1980", "13/13/1980", "1980-03-15"], False)
def test_dates_of_birth_in_a_given_order_agree_with_the_scalar_rule(
    raws: list[str], day_first: bool
) -> None:
    assert_agrees(
        lambda column: columnar.dates_of_birth(column, today=TODAY, day_first=day_first),
        lambda raw: normalize_dob(raw, today=TODAY, day_first=day_first),
        raws,
    )


PRICES = st.builds(
    lambda sign, dollar, digits, decimals: f"{sign}{dollar}{digits}{decimals}",
    st.sampled_from(["", "", "-", "- "]),
    st.sampled_from(["", "$", "$ "]),
    st.one_of(st.text(alphabet=DIGITS, min_size=1, max_size=10), st.sampled_from(["1,000", ""])),
    st.one_of(st.just(""), st.text(alphabet=DIGITS, max_size=4).map(lambda d: "." + d)),
)


@settings(settings.get_profile("columnar"))
@given(columns_of(PRICES))
@example(sample_column("price", "cost", "leadprice"))
@example(["12.5", "$3", "0.005", "99999999.99", "999999999", "$12.", ".5"])
def test_prices_agree_with_the_scalar_rule(raws: list[str]) -> None:
    assert_agrees(columnar.prices, parse_price, raws)


@pytest.mark.parametrize(
    ("vectorised", "raws", "expected"),
    [
        (columnar.phones, ["(210) 461-1180", "N/A"], ["+12104611180", None]),
        (columnar.emails, [" A@Example.COM ", "josé@example.com"], ["a@example.com", None]),
        (columnar.states, ["texas", "zz"], ["TX", None]),
        (columnar.zip_codes, ["02134-1234", "2134"], ["02134", None]),
        (columnar.booleans, ["Yes", "maybe"], [True, None]),
        (columnar.prices, ["$38.5", "1,000"], [parse_price("38.5"), None]),
    ],
)
def test_common_shapes_are_answered_in_the_engine(
    vectorised: Callable[[pl.Series], pl.Series], raws: list[str], expected: list[Any]
) -> None:
    assert vectorised(pl.Series(raws, dtype=pl.String)).to_list() == expected


def test_unrecognised_values_go_to_the_scalar_rule() -> None:
    raws = ["(210) 461-1180", "+44 20 7946 0958", ""]
    answers = columnar.with_residue(
        raws,
        columnar.phones(pl.Series(raws)),
        lambda residue: [columnar.scalar_answer(normalize_phone, raw) for raw in residue],
    )
    assert answers == ["+12104611180", "+442079460958", ""]

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from leads import normalize
from leads.normalize import (
    DAY_FIRST,
    MONTH_FIRST,
    InvalidValue,
    dob_written_order,
    format_height,
    normalize_dob,
    normalize_email,
    normalize_gender,
    normalize_phone,
    normalize_state,
    normalize_zip,
    parse_bool,
    parse_price,
    phone_display,
    time_zone_for,
)

TODAY = date(2025, 6, 1)

STATE_CODES = (
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "PR",
    "VI",
    "GU",
    "AS",
    "MP",
)


def rejected(raw: object) -> AbstractContextManager[pytest.ExceptionInfo[InvalidValue]]:
    """Expect InvalidValue with a message that quotes the raw value."""
    return pytest.raises(InvalidValue, match=re.escape(f'"{str(raw).strip()}"'))


def phonenumbers_reference(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone_or_none(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except InvalidValue:
        return None


# --- Phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "(210) 461-1180",
        "210.461.1180",
        "+1 210 461 1180",
        "1-210-461-1180",
        "2104611180",
        "12104611180",
        "+12104611180",
        "(210)461-1180",
        "  210 461 1180  ",
        "210\u00a0461\u00a01180",
        "210-461-1180 x12",
        "210-461-1180 ext. 12",
    ],
)
def test_normalize_phone_returns_e164_for_every_common_us_shape(raw: str) -> None:
    assert normalize_phone(raw) == "+12104611180"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_normalize_phone_returns_blank_for_blank_input(raw: str | None) -> None:
    assert normalize_phone(raw) == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("011 44 20 7946 0958", "+442079460958"),
        ("+52 55 1234 5678", "+525512345678"),
        ("(416) 967-1111", "+14169671111"),
        ("1-800-FLOWERS", "+18003569377"),
        ("210-555-0100", "+12105550100"),
        ("210-555-0199", "+12105550199"),
    ],
)
def test_normalize_phone_accepts_canadian_international_vanity_and_fictional_numbers(
    raw: str, expected: str
) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "123",
        "000-000-0000",
        "010-461-1180",  # area code starts with 0
        "110-461-1180",  # area code starts with 1
        "210-061-1180",  # exchange starts with 0
        "210-161-1180",  # exchange starts with 1
        "411-461-1180",  # N11 service code as area code
        "911-461-1180",
        "999-461-1180",  # area code not in service
        "210-461-118",
        "210-461-11800",
        "+2104611180",  # a + demands a country code, and 210 is none
        "+44 20 1",
        "call me maybe",
    ],
)
def test_normalize_phone_rejects_impossible_numbers(raw: str) -> None:
    with rejected(raw):
        normalize_phone(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "(210) 461-1180",
        "210.461.1180",
        "+1 210 461 1180",
        "1-210-461-1180",
        "2104611180",
        "12104611180",
        "2-1-0-4-6-1-1-1-8-0",
        "(416) 967-1111",
        "(787) 725-1234",  # Puerto Rico
        "340-774-1234",  # U.S. Virgin Islands
        "671-472-1234",  # Guam
        "876-927-1234",  # Jamaica
        "876-606-1234",  # Jamaica, an exchange phonenumbers rejects
        "441-555-1234",  # Bermuda, an exchange phonenumbers rejects
        "983-200-1234",  # Colorado's newest code, which has no 6xx exchanges
        "983-600-1234",
        "800-555-1234",
        "900-555-1234",
        "210-555-0123",
        "999-461-1180",
        "411-461-1180",
        "010-461-1180",
        "000-000-0000",
        "123",
        "+2104611180",
        "210-461-1180 x12",
        "+44 20 7946 0958",
        "+1 (210) 461-1180 ext 9",
    ],
)
def test_normalize_phone_agrees_with_phonenumbers(raw: str) -> None:
    assert normalize_phone_or_none(raw) == phonenumbers_reference(raw)


def test_normalize_phone_agrees_with_phonenumbers_in_every_area_code() -> None:
    disagreements = [
        raw
        for area_code in range(200, 1000)
        for exchange in ("201", "461", "555", "611", "699", "911")
        if normalize_phone_or_none(raw := f"{area_code}{exchange}1180")
        != phonenumbers_reference(raw)
    ]
    assert disagreements == []


@pytest.mark.parametrize(
    "raw",
    [
        "809-040-0438",  # Dominican Republic, exchange starting with 0
        "+1 800 140 4567",  # Dominican toll-free block with an exchange starting with 1
        "310-0482",  # Canada's 7-digit 310 lines
    ],
)
def test_normalize_phone_rejects_nanp_numbers_that_phonenumbers_accepts_but_agents_cannot_dial(
    raw: str,
) -> None:
    assert phonenumbers_reference(raw) is not None
    with rejected(raw):
        normalize_phone(raw)


COMMON_US_SHAPES = (
    "(210) 461-1180",
    "210.461.1180",
    "+1 210 461 1180",
    "1-210-461-1180",
    "2104611180",
    "000-000-0000",
    "110-461-1180",
    "999-461-1180",
)
REFERENCE_FOR_COMMON_US_SHAPES = {raw: phonenumbers_reference(raw) for raw in COMMON_US_SHAPES}


@pytest.mark.parametrize("raw", COMMON_US_SHAPES)
def test_normalize_phone_decides_common_us_shapes_without_phonenumbers_parse(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_be_called(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"phonenumbers called for {raw!r}")

    monkeypatch.setattr(normalize.phonenumbers, "parse", must_not_be_called)
    monkeypatch.setattr(normalize.phonenumbers, "is_valid_number", must_not_be_called)
    assert normalize_phone_or_none(raw) == REFERENCE_FOR_COMMON_US_SHAPES[raw]


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+12104611180", "(210) 461-1180"),
        ("+14169671111", "(416) 967-1111"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+525512345678", "+52 55 1234 5678"),
        ("", ""),
    ],
)
def test_phone_display_formats_nanp_nationally_and_others_internationally(
    e164: str, expected: str
) -> None:
    assert phone_display(e164) == expected


@pytest.mark.parametrize("e164", ["2104611180", "(210) 461-1180", "+", "+0123"])
def test_phone_display_rejects_values_that_are_not_e164(e164: str) -> None:
    with rejected(e164):
        phone_display(e164)


# --- Email --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John.Doe@Example.COM ", "john.doe@example.com"),
        ("josé.martin@example.com", "josé.martin@example.com"),
        ("JOSÉ.MARTIN@EXAMPLE.COM", "josé.martin@example.com"),
        ("jose\u0301@example.com", "josé@example.com"),  # decomposed accent composed
        ("o'brien+leads@mail.example.co.uk", "o'brien+leads@mail.example.co.uk"),
        ("agent@münchen.de", "agent@münchen.de"),
        ("agent@example.xn--p1ai", "agent@example.xn--p1ai"),
    ],
)
def test_normalize_email_strips_and_lower_cases(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_normalize_email_returns_blank_for_blank_input(raw: str | None) -> None:
    assert normalize_email(raw) == ""


@pytest.mark.parametrize(
    "raw",
    [
        "N/A",
        "john.doe",
        "john@localhost",
        "john@@example.com",
        "john@doe@example.com",
        "john doe@example.com",
        "john..doe@example.com",
        ".john@example.com",
        "john@-example.com",
        "john@example.c",
        "john@example.123",
        "@example.com",
        "john@",
    ],
)
def test_normalize_email_rejects_malformed_addresses(raw: str) -> None:
    with rejected(raw):
        normalize_email(raw)


# --- States and ZIP codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tx", "TX"),
        ("TX", "TX"),
        (" Texas ", "TX"),
        ("new  york", "NY"),
        ("District of Columbia", "DC"),
        ("Washington DC", "DC"),
        ("D.C.", "DC"),
        ("Puerto Rico", "PR"),
        ("U.S. Virgin Islands", "VI"),
        ("Virgin Islands", "VI"),
        ("Guam", "GU"),
        ("American Samoa", "AS"),
        ("Northern Mariana Islands", "MP"),
    ],
)
def test_normalize_state_accepts_codes_and_names(raw: str, expected: str) -> None:
    assert normalize_state(raw) == expected


@pytest.mark.parametrize("code", STATE_CODES)
def test_normalize_state_accepts_every_state_dc_and_territory_code(code: str) -> None:
    assert normalize_state(code.lower()) == code


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_normalize_state_returns_blank_for_blank_input(raw: str | None) -> None:
    assert normalize_state(raw) == ""


@pytest.mark.parametrize("raw", ["XX", "Tex", "Ontario", "ON", "AE", "T X"])
def test_normalize_state_rejects_anything_else(raw: str) -> None:
    with rejected(raw):
        normalize_state(raw)


@pytest.mark.parametrize(
    ("raw", "state", "expected"),
    [
        ("78201", "TX", "78201"),
        ("78201-1234", "TX", "78201"),
        ("78201 1234", "", "78201"),
        ("782011234", "", "78201"),
        ("78201.0", "TX", "78201"),
        (78201, "", "78201"),
        (" 07426 ", "NJ", "07426"),
        ("07426", "", "07426"),
    ],
)
def test_normalize_zip_returns_five_digits(raw: str | int, state: str, expected: str) -> None:
    assert normalize_zip(raw, state) == expected


@pytest.mark.parametrize(
    ("raw", "state", "expected"),
    [
        ("6103", "CT", "06103"),
        ("2108", "MA", "02108"),
        ("4101", "ME", "04101"),
        ("3301", "NH", "03301"),
        ("7426", "NJ", "07426"),
        ("2903", "RI", "02903"),
        ("5401", "VT", "05401"),
        ("7426.0", "NJ", "07426"),
        (7426, "NJ", "07426"),
        (7426.0, "nj", "07426"),
        ("7426-1234", "NJ", "07426"),
        ("7426", "New Jersey", "07426"),
    ],
)
def test_normalize_zip_restores_one_dropped_zero_in_new_england_and_new_jersey(
    raw: str | int | float, state: str, expected: str
) -> None:
    assert normalize_zip(raw, state) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("907", "00907"), ("0907", "00907"), ("00907", "00907"), ("601.0", "00601"), (907, "00907")],
)
def test_normalize_zip_restores_both_dropped_zeros_in_puerto_rico(
    raw: str | int, expected: str
) -> None:
    assert normalize_zip(raw, "PR") == expected


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("7426", "TX"),
        ("7426", "CA"),
        ("7426", "NY"),
        ("7426", "FL"),
        ("801", "VI"),
        ("7426", ""),
        ("742", "NJ"),  # only one zero can be missing outside Puerto Rico
        ("9070", "PR"),  # Puerto Rico codes start with 00
    ],
)
def test_normalize_zip_restores_no_zero_where_the_state_does_not_call_for_it(
    raw: str, state: str
) -> None:
    with rejected(raw):
        normalize_zip(raw, state)


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_normalize_zip_returns_blank_for_blank_input(raw: str | None) -> None:
    assert normalize_zip(raw) == ""


@pytest.mark.parametrize(
    "raw", ["00000", "123456", "1234567890", "7820A", "M5V 3L9", "78201-12", "７８２０１"]
)
def test_normalize_zip_rejects_anything_else(raw: str) -> None:
    with rejected(raw):
        normalize_zip(raw, "TX")


# --- Dates of birth -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03/15/1980", date(1980, 3, 15)),
        ("3/5/1980", date(1980, 3, 5)),
        ("1980-03-15", date(1980, 3, 15)),
        ("1980-3-5", date(1980, 3, 5)),
        ("03-15-1980", date(1980, 3, 15)),
        ("1980-03-15T00:00:00Z", date(1980, 3, 15)),
        ("1980-03-15T23:30:00-05:00", date(1980, 3, 15)),
        ("1980-03-15 00:00:00", date(1980, 3, 15)),
        ("3/15/1980 0:00", date(1980, 3, 15)),
        ("3/15/1980 12:00:00 AM", date(1980, 3, 15)),
        (" 03/15/1980 ", date(1980, 3, 15)),
        ("06/01/2025", TODAY),
        ("1/1/1900", date(1900, 1, 1)),
    ],
)
def test_normalize_dob_reads_us_and_iso_dates(raw: str, expected: date) -> None:
    assert normalize_dob(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25/12/1980", date(1980, 12, 25)),
        ("13/1/1990", date(1990, 1, 13)),
        ("31-01-1975", date(1975, 1, 31)),
        ("05/06/1980", date(1980, 5, 6)),  # ambiguous, so month first
        ("12/13/1980", date(1980, 12, 13)),
    ],
)
def test_normalize_dob_reads_day_first_only_when_the_first_number_cannot_be_a_month(
    raw: str, expected: date
) -> None:
    assert normalize_dob(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "day_first", "expected"),
    [
        ("01/12/1968", True, date(1968, 12, 1)),
        ("31/01/1980", True, date(1980, 1, 31)),
        ("1/2/80", True, date(1980, 2, 1)),
        ("1980-03-15", True, date(1980, 3, 15)),  # year-first is read as written
        ("01/12/1968", False, date(1968, 1, 12)),
        ("12/13/1980", False, date(1980, 12, 13)),
    ],
)
def test_normalize_dob_reads_the_order_it_is_given(
    raw: str, day_first: bool, expected: date
) -> None:
    assert normalize_dob(raw, today=TODAY, day_first=day_first) == expected


@pytest.mark.parametrize(
    ("raw", "day_first"), [("12/13/1980", True), ("31/01/1980", False), ("13/13/1980", True)]
)
def test_normalize_dob_refuses_a_date_that_contradicts_the_order_it_is_given(
    raw: str, day_first: bool
) -> None:
    with rejected(raw):
        normalize_dob(raw, today=TODAY, day_first=day_first)


@pytest.mark.parametrize(
    ("raw", "order"),
    [
        ("31/01/1980", DAY_FIRST),
        ("13-1-90", DAY_FIRST),
        ("01/31/1980", MONTH_FIRST),
        (" 12/13/1980 0:00", MONTH_FIRST),
        ("01/12/1968", None),
        ("05/05/1980", None),
        ("13/13/1980", None),
        ("32/01/1980", None),
        ("1980-01-31", None),
        ("N/A", None),
    ],
)
def test_dob_written_order_tells_only_from_a_part_that_cannot_be_a_month(
    raw: str, order: str | None
) -> None:
    assert dob_written_order(raw) == order


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3/15/80", date(1980, 3, 15)),
        ("3/15/99", date(1999, 3, 15)),
        ("3/15/00", date(2000, 3, 15)),
        ("3/15/24", date(2024, 3, 15)),
        ("6/1/25", date(2025, 6, 1)),  # today is not the future
        ("6/2/25", date(1925, 6, 2)),  # tomorrow would be
        ("12/15/25", date(1925, 12, 15)),
        ("2/29/04", date(2004, 2, 29)),
        ("25/12/30", date(1930, 12, 25)),
    ],
)
def test_normalize_dob_puts_two_digit_years_in_the_century_that_is_not_in_the_future(
    raw: str, expected: date
) -> None:
    assert normalize_dob(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "  ", "N/A", "n/a", "NA", "null", "NULL", "none", "None"]
)
def test_normalize_dob_returns_none_for_blank_or_placeholder_input(raw: str | None) -> None:
    assert normalize_dob(raw, today=TODAY) is None


@pytest.mark.parametrize(
    "raw",
    [
        "13/45/1999",
        "02/30/1980",
        "2/29/1981",
        "00/10/1980",
        "1980-13-01",
        "06/02/2025",  # tomorrow
        "1/1/2030",
        "2030-01-01T00:00:00Z",
        "12/31/1899",
        "1899-12-31",
        "03/15-1980",
        "19800315",
        "March 15, 1980",
        "yesterday",
    ],
)
def test_normalize_dob_rejects_impossible_future_and_pre_1900_dates(raw: str) -> None:
    with rejected(raw):
        normalize_dob(raw, today=TODAY)


def test_normalize_dob_measures_the_future_from_the_current_date_by_default() -> None:
    the_day_after_tomorrow = datetime.now(UTC).date() + timedelta(days=2)
    with rejected(the_day_after_tomorrow.isoformat()):
        normalize_dob(the_day_after_tomorrow.isoformat())


# --- Height, gender, booleans, prices -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("70", "5'10\""),
        (70, "5'10\""),
        ("70.0", "5'10\""),
        (70.0, "5'10\""),
        (69.6, "5'10\""),
        ("72", "6'0\""),
        (" 64 ", "5'4\""),
        ("5'10\"", "5'10\""),
        ("5' 10", "5'10\""),
        ("5' 10\"", "5'10\""),
        ("5'10", "5'10\""),
        ("5-10", "5'10\""),
        ("5 - 10", "5'10\""),
        ("5 10", "5'10\""),
        ("5’10”", "5'10\""),
        ("5 ft 10 in", "5'10\""),
        ("5ft10in", "5'10\""),
        ("6'", "6'0\""),
        ("5'0\"", "5'0\""),
        ("20", "1'8\""),
        ("108", "9'0\""),
    ],
)
def test_format_height_writes_feet_and_inches(raw: str | int | float, expected: str) -> None:
    assert format_height(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_format_height_returns_blank_for_blank_input(raw: str | None) -> None:
    assert format_height(raw) == ""


@pytest.mark.parametrize(
    "raw",
    ["tall", "5'13\"", "5-12", "19", "109", 19, 200, "5.10", "10'0\"", "1'7\"", "-70", True],
)
def test_format_height_rejects_nonsense_and_heights_outside_20_to_108_inches(
    raw: str | int | bool,
) -> None:
    with rejected(raw):
        format_height(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", "Male"),
        ("m", "Male"),
        ("male", "Male"),
        ("Male", "Male"),
        ("MALE", "Male"),
        (" male ", "Male"),
        ("F", "Female"),
        ("f", "Female"),
        ("female", "Female"),
        ("FEMALE", "Female"),
        (None, ""),
        ("", ""),
        ("  ", ""),
    ],
)
def test_normalize_gender_returns_male_female_or_blank(raw: str | None, expected: str) -> None:
    assert normalize_gender(raw) == expected


@pytest.mark.parametrize("raw", ["X", "Unknown", "other", "man", "Mal"])
def test_normalize_gender_rejects_anything_else(raw: str) -> None:
    with rejected(raw):
        normalize_gender(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("yes", True),
        ("YES", True),
        (" Yes ", True),
        ("y", True),
        ("true", True),
        ("True", True),
        ("t", True),
        ("1", True),
        ("no", False),
        ("No", False),
        ("n", False),
        ("false", False),
        ("FALSE", False),
        ("f", False),
        ("0", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_bool_reads_yes_no_words_bools_and_ints(
    raw: str | bool | int | None, expected: bool | None
) -> None:
    assert parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "yess", "2", 2, -1, "on"])
def test_parse_bool_rejects_anything_else(raw: str | int) -> None:
    with rejected(raw):
        parse_bool(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$38.50", Decimal("38.50")),
        ("38.5", Decimal("38.50")),
        ("1,250.00", Decimal("1250.00")),
        ("$1,250", Decimal("1250.00")),
        (" $ 12 ", Decimal("12.00")),
        (".5", Decimal("0.50")),
        ("0", Decimal("0.00")),
        ("38.555", Decimal("38.56")),
        (45, Decimal("45.00")),
        (38.5, Decimal("38.50")),
        (0.1, Decimal("0.10")),
        (Decimal("1.005"), Decimal("1.01")),
        (None, None),
        ("", None),
    ],
)
def test_parse_price_returns_decimal_cents(
    raw: str | int | float | Decimal | None, expected: Decimal | None
) -> None:
    price = parse_price(raw)
    assert price == expected
    if price is not None:
        assert price.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "raw",
    [
        "free",
        "$",
        "1,2,3",
        "12,34.00",
        "３８",
        "-5",
        "-$38.50",
        -1,
        Decimal("-0.01"),
        float("nan"),
        True,
    ],
)
def test_parse_price_rejects_non_amounts_and_negative_amounts(
    raw: str | int | float | Decimal | bool,
) -> None:
    with rejected(raw):
        parse_price(raw)


# --- Time zones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("TX", "America/Chicago"),
        ("CA", "America/Los_Angeles"),
        ("AZ", "America/Phoenix"),
        ("HI", "Pacific/Honolulu"),
        ("AK", "America/Anchorage"),
        ("PR", "America/Puerto_Rico"),
        ("NY", "America/New_York"),
        ("CO", "America/Denver"),
        ("GU", "Pacific/Guam"),
        ("AS", "Pacific/Pago_Pago"),
        ("tx", "America/Chicago"),
        ("Texas", "America/Chicago"),
    ],
)
def test_time_zone_for_returns_the_state_zone(state: str, expected: str) -> None:
    assert time_zone_for(state) == expected


@pytest.mark.parametrize(
    ("state", "phone", "expected"),
    [
        ("TX", "+19155551234", "America/Denver"),  # El Paso
        ("TX", "+12104611180", "America/Chicago"),
        ("TX", "", "America/Chicago"),
        ("FL", "+18505551234", "America/Chicago"),  # Pensacola, Panama City
        ("FL", "+14485551234", "America/Chicago"),
        ("FL", "+13055551234", "America/New_York"),
        ("TN", "+18655551234", "America/New_York"),  # Knoxville
        ("TN", "+14235551234", "America/New_York"),  # Chattanooga
        ("TN", "+16155551234", "America/Chicago"),  # Nashville
        ("TN", "+17315551234", "America/Chicago"),
        ("TN", "+19015551234", "America/Chicago"),  # Memphis
        ("KY", "+12705551234", "America/Chicago"),  # Bowling Green, Paducah
        ("KY", "+13645551234", "America/Chicago"),
        ("KY", "+15025551234", "America/New_York"),  # Louisville
        ("IN", "+12195551234", "America/Chicago"),  # Gary
        ("IN", "+13175551234", "America/New_York"),  # Indianapolis
        ("MI", "+19065551234", "America/New_York"),
        ("ND", "+17015551234", "America/Chicago"),
        ("SD", "+16055551234", "America/Chicago"),
        ("NE", "+13085551234", "America/Chicago"),
        ("KS", "+16205551234", "America/Chicago"),
        ("ID", "+12085551234", "America/Denver"),
        ("OR", "+15415551234", "America/Los_Angeles"),
        ("TX", "915-555-1234", "America/Denver"),
        ("TX", "(915) 555-1234", "America/Denver"),
        ("TX", "+18505551234", "America/Chicago"),  # a Florida panhandle number moved to Texas
        ("TX", "+449155551234", "America/Chicago"),
    ],
)
def test_time_zone_for_uses_the_area_code_in_states_split_across_zones(
    state: str, phone: str, expected: str
) -> None:
    assert time_zone_for(state, phone) == expected


@pytest.mark.parametrize(
    ("state", "phone"), [("", ""), ("", "+19155551234"), ("ZZ", ""), (" ", "")]
)
def test_time_zone_for_returns_blank_for_blank_or_unknown_state(state: str, phone: str) -> None:
    assert time_zone_for(state, phone) == ""


@pytest.mark.parametrize("code", STATE_CODES)
def test_time_zone_for_names_a_real_iana_zone_for_every_state(code: str) -> None:
    assert ZoneInfo(time_zone_for(code)).key == time_zone_for(code)


# --- Messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("normalizer", "raw", "message"),
    [
        (normalize_phone, "123", 'not a valid US phone number: "123"'),
        (normalize_phone, "+44 20 1", 'not a valid phone number: "+44 20 1"'),
        (phone_display, "2104611180", 'not an E.164 phone number: "2104611180"'),
        (normalize_email, "bob@", 'not a valid email address: "bob@"'),
        (normalize_state, "Tex", 'not a US state: "Tex"'),
        (normalize_zip, "1234", 'not a valid ZIP code: "1234"'),
        (normalize_dob, "13/45/1999", 'not a valid date: "13/45/1999"'),
        (normalize_dob, "1/1/2999", 'date of birth is in the future: "1/1/2999"'),
        (normalize_dob, "1/1/1899", 'date of birth is before 1900: "1/1/1899"'),
        (format_height, "tall", 'not a valid height: "tall"'),
        (format_height, "150", 'height out of range: "150"'),
        (normalize_gender, "X", 'not a recognised gender: "X"'),
        (parse_bool, "maybe", 'not a yes/no value: "maybe"'),
        (parse_price, "free", 'not a valid price: "free"'),
        (parse_price, "-5", 'price is negative: "-5"'),
        (normalize_email, "x" * 300, f'not a valid email address: "{"x" * 37}..."'),
    ],
)
def test_invalid_value_message_is_short_and_names_the_value(
    normalizer: Callable[[str], object], raw: str, message: str
) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        normalizer(raw)
    assert str(excinfo.value) == message
    assert isinstance(excinfo.value, ValueError)

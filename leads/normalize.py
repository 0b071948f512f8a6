"""Turn the raw lead fields that CSV imports and the NextGen webhook receive into stored values.

Pure functions with no Django imports, so both doors share one set of rules and the tests need no
settings. Each normaliser returns the canonical value, a blank value for blank input, or raises
InvalidValue with a message that names the offending value.
"""

import functools
import math
import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers


class InvalidValue(ValueError):
    """Raised with a short human message, e.g. 'not a valid US phone number: "123"'."""


_MAX_QUOTED_LENGTH = 40


def _invalid(description: str, raw: object) -> InvalidValue:
    quoted = str(raw).strip()
    if len(quoted) > _MAX_QUOTED_LENGTH:
        quoted = quoted[: _MAX_QUOTED_LENGTH - 3] + "..."
    return InvalidValue(f'{description}: "{quoted}"')


# Patterns that read digits are compiled with re.ASCII: \d would otherwise accept Arabic-Indic
# or full-width digits and store them.

# --- Phones -------------------------------------------------------------------------------------

_DEFAULT_PHONE_REGION = "US"
# Strings made only of these characters are the bulk of every CSV; they skip phonenumbers.parse().
_FAST_PHONE_SHAPE = re.compile(r"\+?[0-9 ().\-]+")
_FAST_PHONE_PUNCTUATION = str.maketrans("", "", " ().-+")
_NANP_LEADING_DIGITS = frozenset("23456789")
_NUMBER_TYPE_FIELDS = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


@functools.cache
def _nanp_valid_number_pattern() -> re.Pattern[str]:
    """Return one regex matching exactly the 10-digit NANP numbers phonenumbers calls valid.

    Built from phonenumbers' own metadata for every +1 region, so the fast path accepts what
    phonenumbers.is_valid_number() accepts (checked over every area code and exchange) at a
    fraction of its cost. Validity is not uniform within an area code (983 has no 6xx exchanges,
    most Caribbean codes allow only some exchanges), which is why this is not a per-area-code table.
    """
    region_patterns = []
    for region_code in phonenumbers.region_codes_for_country_code(1):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region_code)
        if metadata is None or metadata.general_desc is None:
            continue  # not in phonenumberslite's tables: no number of that region is valid
        type_patterns = [
            desc.national_number_pattern
            for desc in (getattr(metadata, field) for field in _NUMBER_TYPE_FIELDS)
            if desc is not None and desc.national_number_pattern
        ]
        general_pattern = metadata.general_desc.national_number_pattern
        region_patterns.append(f"(?=(?:{general_pattern})\\Z)(?:{'|'.join(type_patterns)})")
    return re.compile("|".join(f"(?:{pattern})" for pattern in region_patterns))


def normalizer_warm_up() -> None:
    """Build the lazily built tables now (the NANP pattern takes ~0.1 s): a server calls this at
    start, so its first lead does not wait for them, nor do several threads build them at once."""
    _nanp_valid_number_pattern()


def _nanp_number_is_dialable(national_number: str) -> bool:
    # Stricter than phonenumbers on purpose: it also accepts Dominican numbers whose exchange starts
    # with 0 or 1 (809-0xx, 800-14x) and Canada's 7-digit 310-xxxx lines, none of which a US agent
    # can dial as a ten-digit number.
    return (
        len(national_number) == 10
        and national_number[0] in _NANP_LEADING_DIGITS
        and national_number[1:3] != "11"
        and national_number[3] in _NANP_LEADING_DIGITS
        and _nanp_valid_number_pattern().fullmatch(national_number) is not None
    )


def normalize_phone(raw: str | None) -> str:
    """Return the number in E.164 ('+12104611180'), or '' for blank input.

    US/Canada is the default region; extensions are dropped.
    """
    if raw is None:
        return ""
    text = raw.strip()
    if not text:
        return ""
    if _FAST_PHONE_SHAPE.fullmatch(text):
        digits = text.translate(_FAST_PHONE_PUNCTUATION)
        national_number = None
        if len(digits) == 11 and digits[0] == "1":
            national_number = digits[1:]
        elif len(digits) == 10 and text[0] != "+":
            national_number = digits
        if national_number is not None:
            if _nanp_number_is_dialable(national_number):
                return "+1" + national_number
            raise _invalid("not a valid US phone number", raw)
    return _normalize_phone_with_phonenumbers(text)


def _normalize_phone_with_phonenumbers(text: str) -> str:
    is_foreign = text.startswith("+") and not text.startswith("+1")
    description = "not a valid phone number" if is_foreign else "not a valid US phone number"
    try:
        number = phonenumbers.parse(text, _DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise _invalid(description, text) from None
    if not phonenumbers.is_valid_number(number):
        raise _invalid(description, text)
    if number.country_code == 1 and not _nanp_number_is_dialable(str(number.national_number)):
        raise _invalid(description, text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NANP_E164 = re.compile(r"\+1\d{10}", re.ASCII)
_E164 = re.compile(r"\+[1-9]\d{1,14}", re.ASCII)


def phone_display(e164: str) -> str:
    """Return a stored E.164 number as people write it: '(210) 461-1180' or '+44 20 7946 0958'."""
    if not e164:
        return ""
    if _NANP_E164.fullmatch(e164):
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    if not _E164.fullmatch(e164):
        raise _invalid("not an E.164 phone number", e164)
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        raise _invalid("not an E.164 phone number", e164) from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- Email --------------------------------------------------------------------------------------

_MAX_EMAIL_LENGTH = 254
# Dot-separated atoms in any script before the @; letter/digit labels joined by dots after it,
# ending in an alphabetic or punycode top-level domain.
_EMAIL = re.compile(
    r"[^\s@\"(),:;<>\[\]\\.]+(?:\.[^\s@\"(),:;<>\[\]\\.]+)*"
    r"@(?:[^\W_](?:(?:[^\W_]|-)*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[a-z0-9-]+)"
)


def normalize_email(raw: str | None) -> str:
    """Return the address stripped and lower-cased, or '' for blank input."""
    if raw is None:
        return ""
    email = raw.strip().lower()
    if not email:
        return ""
    if not email.isascii():
        # 'é' can arrive precomposed or as 'e' + combining accent; dedupe must see one spelling.
        email = unicodedata.normalize("NFC", email)
    if len(email) > _MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise _invalid("not a valid email address", raw)
    return email


# --- States and ZIP codes -----------------------------------------------------------------------

_STATE_NAME_BY_CODE = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
    "GU": "Guam",
    "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}
STATE_CODES = tuple(_STATE_NAME_BY_CODE)


def _state_key(text: str) -> str:
    return " ".join(text.replace(".", "").upper().split())


_STATE_CODE_BY_NAME_KEY = {
    **{_state_key(name): code for code, name in _STATE_NAME_BY_CODE.items()},
    "WASHINGTON DC": "DC",
    "VIRGIN ISLANDS": "VI",
    "UNITED STATES VIRGIN ISLANDS": "VI",
}


def _state_code(raw: str) -> str:
    """Return the two-letter code for a state code or name, or '' if it is not one."""
    code = raw.strip().upper()
    if code in _STATE_NAME_BY_CODE:
        return code
    key = _state_key(raw)
    if key in _STATE_NAME_BY_CODE:  # 'D.C.'
        return key
    return _STATE_CODE_BY_NAME_KEY.get(key, "")


def normalize_state(raw: str | None) -> str:
    """Return the two-letter postal code for a state, DC or territory, or '' for blank input."""
    if raw is None or not raw.strip():
        return ""
    code = _state_code(raw)
    if not code:
        raise _invalid("not a US state", raw)
    return code


# Spreadsheets store ZIP codes as numbers, so '07426' arrives as '7426' or '7426.0'.
_ZIP = re.compile(r"(\d{3,5})(?:\.0+|[-\s]?\d{4})?", re.ASCII)
# Every ZIP code in these states starts with 0, so a 4-digit one lost exactly that zero.
_STATES_WITH_LEADING_ZERO_ZIPS = frozenset({"CT", "MA", "ME", "NH", "NJ", "RI", "VT"})
# Puerto Rico ZIP codes start with 00, so spreadsheets can drop both zeros.
_STATES_WITH_DOUBLE_ZERO_ZIPS = frozenset({"PR"})
_ZIP_LENGTH = 5


def normalize_zip(raw: str | int | float | None, state: str = "") -> str:
    """Return the 5-digit ZIP code, or '' for blank input.

    Leading zeros a spreadsheet dropped are restored only where `state` says they must exist.
    """
    if raw is None:
        return ""
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if not text:
        return ""
    match = _ZIP.fullmatch(text)
    if match is None:
        raise _invalid("not a valid ZIP code", raw)
    zip_code = match[1]
    if len(zip_code) < _ZIP_LENGTH:
        state_code = _state_code(state)
        padded = zip_code.zfill(_ZIP_LENGTH)
        zeros_were_dropped = (
            state_code in _STATES_WITH_LEADING_ZERO_ZIPS and len(zip_code) == _ZIP_LENGTH - 1
        ) or (state_code in _STATES_WITH_DOUBLE_ZERO_ZIPS and padded.startswith("00"))
        if not zeros_were_dropped:
            raise _invalid("not a valid ZIP code", raw)
        zip_code = padded
    if zip_code == "00000":
        raise _invalid("not a valid ZIP code", raw)
    return zip_code


# --- Dates of birth -----------------------------------------------------------------------------

_BLANK_DATE_WORDS = frozenset({"", "n/a", "na", "null", "none", "nan"})
# Spreadsheet and API exports append a time ('1980-03-15T00:00:00Z', '3/15/1980 0:00'); a birth
# date is the calendar date as written, so the time and any offset are ignored, not converted.
_TIME_SUFFIX = (
    r"(?:[T ]\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"  # 0:00, 00:00:00, 00:00:00.000
    r"\s*(?:[AP]\.?M\.?)?"
    r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_YEAR_FIRST_DATE = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME_SUFFIX, re.IGNORECASE | re.ASCII
)
_MONTH_FIRST_DATE = re.compile(
    r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})" + _TIME_SUFFIX, re.IGNORECASE | re.ASCII
)
_MONTHS_IN_YEAR = 12
_DAYS_IN_MONTH = 31
# The order of a day/month/year date column (CONTRACT §6 `dateOrder`)
DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"
_EARLIEST_BIRTH_YEAR = 1900


def _date_or_invalid(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _invalid("not a valid date", raw) from None


def dob_written_order(raw: str) -> str | None:
    """Return DAY_FIRST if `raw` is a day/month/year date that can only be read day-first
    (31/01/1980), MONTH_FIRST if only month-first (01/31/1980), else None (either, or neither).

    An import decides the order of a whole date column from these (imports.parsing.dates)."""
    match = _MONTH_FIRST_DATE.fullmatch(raw.strip())
    if match is None:
        return None
    first, second = int(match[1]), int(match[3])
    if _MONTHS_IN_YEAR < first <= _DAYS_IN_MONTH and 1 <= second <= _MONTHS_IN_YEAR:
        return DAY_FIRST
    if _MONTHS_IN_YEAR < second <= _DAYS_IN_MONTH and 1 <= first <= _MONTHS_IN_YEAR:
        return MONTH_FIRST
    return None


def normalize_dob(
    raw: str | None, *, today: date | None = None, day_first: bool | None = None
) -> date | None:
    """Return the date of birth, or None for blank or 'N/A'-style input.

    A day/month/year date is read day-first with `day_first=True`, month-first with False (a
    value that cannot be read in that order is invalid, never read the other way), and with
    None month-first unless the first number cannot be a month. Year-first dates are read as
    written. A two-digit year takes the century that puts the date on or before `today`
    (default: today in UTC).
    """
    if raw is None:
        return None
    text = raw.strip()
    if text.lower() in _BLANK_DATE_WORDS:
        return None
    # UTC because this module cannot reach Django's timezone; callers that know the tenant's zone
    # pass today=timezone.localdate(). Near midnight UTC is a day off only for someone born today.
    today = today or datetime.now(UTC).date()
    if match := _YEAR_FIRST_DATE.fullmatch(text):
        birth_date = _date_or_invalid(int(match[1]), int(match[3]), int(match[4]), raw)
    elif match := _MONTH_FIRST_DATE.fullmatch(text):
        month, day, year_text = int(match[1]), int(match[3]), match[4]
        if day_first or (day_first is None and month > _MONTHS_IN_YEAR):
            month, day = day, month
        if len(year_text) == 4:
            birth_date = _date_or_invalid(int(year_text), month, day, raw)
        else:
            birth_date = _date_or_invalid(2000 + int(year_text), month, day, raw)
            if birth_date > today:
                birth_date = _date_or_invalid(1900 + int(year_text), month, day, raw)
    else:
        raise _invalid("not a valid date", raw)
    if birth_date > today:
        raise _invalid("date of birth is in the future", raw)
    if birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise _invalid("date of birth is before 1900", raw)
    return birth_date


# --- Height, gender, booleans, prices -----------------------------------------------------------

_HEIGHT_IN_INCHES = re.compile(r"\d{1,3}(?:\.\d*)?", re.ASCII)
_HEIGHT_IN_FEET_AND_INCHES = re.compile(
    r"(\d)\s*(?:'|’|′|ft\.?|feet|foot)\s*(?:(\d{1,2})\s*(?:\"|”|″|''|in\.?|inches)?)?"
    r"|(\d)(?:\s*-\s*|\s+)(\d{1,2})",
    re.IGNORECASE | re.ASCII,
)
_INCHES_PER_FOOT = 12
_SHORTEST_HEIGHT_INCHES = 20
_TALLEST_HEIGHT_INCHES = 108


def format_height(raw: str | int | float | None) -> str:
    """Return the height as feet and inches (5'10"), or '' for blank input.

    Accepts total inches (70, '70.0') or feet and inches ("5'10\"", "5' 10", '5-10', '5 ft 10 in').
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise _invalid("not a valid height", raw)
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise _invalid("not a valid height", raw)
        total_inches = math.floor(raw + 0.5)
    else:
        text = raw.strip()
        if not text:
            return ""
        if _HEIGHT_IN_INCHES.fullmatch(text):
            total_inches = math.floor(float(text) + 0.5)
        elif match := _HEIGHT_IN_FEET_AND_INCHES.fullmatch(text):
            feet = int(match[1] or match[3])
            inches = int(match[2] or match[4] or 0)
            if inches >= _INCHES_PER_FOOT:
                raise _invalid("not a valid height", raw)
            total_inches = feet * _INCHES_PER_FOOT + inches
        else:
            raise _invalid("not a valid height", raw)
    if not _SHORTEST_HEIGHT_INCHES <= total_inches <= _TALLEST_HEIGHT_INCHES:
        raise _invalid("height out of range", raw)
    feet, inches = divmod(total_inches, _INCHES_PER_FOOT)
    return f"{feet}'{inches}\""


_GENDER_BY_WORD = {"m": "Male", "male": "Male", "f": "Female", "female": "Female"}


def normalize_gender(raw: str | None) -> str:
    """Return 'Male' or 'Female', or '' for blank input."""
    if raw is None:
        return ""
    word = raw.strip().lower()
    if not word:
        return ""
    gender = _GENDER_BY_WORD.get(word)
    if gender is None:
        raise _invalid("not a recognised gender", raw)
    return gender


_BOOL_BY_WORD = {
    "yes": True,
    "y": True,
    "true": True,
    "t": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "f": False,
    "0": False,
}


def parse_bool(raw: str | bool | int | None) -> bool | None:
    """Return True or False for yes/no-style input, or None for blank input."""
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        if raw in (0, 1):
            return raw == 1
        raise _invalid("not a yes/no value", raw)
    word = raw.strip().lower()
    if not word:
        return None
    value = _BOOL_BY_WORD.get(word)
    if value is None:
        raise _invalid("not a yes/no value", raw)
    return value


_PRICE = re.compile(r"(-)?\s*\$?\s*(\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_CENTS = Decimal("0.01")


def parse_price(raw: str | int | float | Decimal | None) -> Decimal | None:
    """Return the amount rounded half-up to cents, or None for blank input."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise _invalid("not a valid price", raw)
    if isinstance(raw, Decimal):
        amount = raw
    elif isinstance(raw, int):
        amount = Decimal(raw)
    elif isinstance(raw, float):
        # str() gives the shortest round-tripping digits: 38.5 -> '38.5', not 38.5000000000000...
        amount = Decimal(str(raw))
    else:
        text = raw.strip()
        if not text:
            return None
        match = _PRICE.fullmatch(text)
        if match is None:
            raise _invalid("not a valid price", raw)
        amount = Decimal(match[2].replace(",", ""))
        if match[1]:
            amount = -amount
    if not amount.is_finite():
        raise _invalid("not a valid price", raw)
    if amount < 0:
        raise _invalid("price is negative", raw)
    try:
        return amount.quantize(_CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise _invalid("not a valid price", raw) from None


# --- Time zones ---------------------------------------------------------------------------------

# One canonical zone per rule set in use today (America/Denver, not America/Boise): the zone
# decides when a lead may be called, and fewer distinct names keep call queues groupable.
_EASTERN = "America/New_York"
_CENTRAL = "America/Chicago"
_MOUNTAIN = "America/Denver"
_MOUNTAIN_NO_DST = "America/Phoenix"
_PACIFIC = "America/Los_Angeles"
_ALASKA = "America/Anchorage"
_HAWAII = "Pacific/Honolulu"
_ATLANTIC = "America/Puerto_Rico"
_CHAMORRO = "Pacific/Guam"
_SAMOA = "Pacific/Pago_Pago"

# Where most of each state's people live.
_TIME_ZONE_BY_STATE = {
    "AL": _CENTRAL,
    "AK": _ALASKA,
    "AZ": _MOUNTAIN_NO_DST,
    "AR": _CENTRAL,
    "CA": _PACIFIC,
    "CO": _MOUNTAIN,
    "CT": _EASTERN,
    "DE": _EASTERN,
    "DC": _EASTERN,
    "FL": _EASTERN,
    "GA": _EASTERN,
    "HI": _HAWAII,
    "ID": _MOUNTAIN,
    "IL": _CENTRAL,
    "IN": _EASTERN,
    "IA": _CENTRAL,
    "KS": _CENTRAL,
    "KY": _EASTERN,
    "LA": _CENTRAL,
    "ME": _EASTERN,
    "MD": _EASTERN,
    "MA": _EASTERN,
    "MI": _EASTERN,
    "MN": _CENTRAL,
    "MS": _CENTRAL,
    "MO": _CENTRAL,
    "MT": _MOUNTAIN,
    "NE": _CENTRAL,
    "NV": _PACIFIC,
    "NH": _EASTERN,
    "NJ": _EASTERN,
    "NM": _MOUNTAIN,
    "NY": _EASTERN,
    "NC": _EASTERN,
    "ND": _CENTRAL,
    "OH": _EASTERN,
    "OK": _CENTRAL,
    "OR": _PACIFIC,
    "PA": _EASTERN,
    "RI": _EASTERN,
    "SC": _EASTERN,
    "SD": _CENTRAL,
    "TN": _CENTRAL,
    "TX": _CENTRAL,
    "UT": _MOUNTAIN,
    "VT": _EASTERN,
    "VA": _EASTERN,
    "WA": _PACIFIC,
    "WV": _EASTERN,
    "WI": _CENTRAL,
    "WY": _MOUNTAIN,
    "PR": _ATLANTIC,
    "VI": _ATLANTIC,
    "GU": _CHAMORRO,
    "AS": _SAMOA,
    "MP": _CHAMORRO,
}

# Area codes that lie wholly or mostly on the minority side of a state's time zone line. The other
# split states (ID, OR, MI, ND, SD, NE, KS) have no such area code: 208/986, 541/458, 906, 701,
# 605, 308 and 620/785 each straddle the line with most people on the majority side.
_TIME_ZONE_BY_STATE_AND_AREA_CODE = {
    "TX": {"915": _MOUNTAIN},  # El Paso
    "FL": {"850": _CENTRAL, "448": _CENTRAL},  # the panhandle west of the Apalachicola
    "TN": {"865": _EASTERN, "423": _EASTERN},  # Knoxville, Chattanooga and the east
    "KY": {"270": _CENTRAL, "364": _CENTRAL},  # the western half
    "IN": {"219": _CENTRAL},  # the Chicago suburbs in the northwest
}


def _nanp_area_code(phone: str) -> str:
    digits = phone.translate(_FAST_PHONE_PUNCTUATION)
    if len(digits) == 11 and digits[0] == "1":
        return digits[1:4]
    if len(digits) == 10 and not phone.startswith("+"):
        return digits[:3]
    return ""


def time_zone_for(state: str, phone: str = "") -> str:
    """Return the IANA time zone for a lead's state, or '' when the state is blank or unknown.

    In states split across zones, the area code of `phone` (ideally E.164) picks the zone when it
    lies on the minority side.
    """
    state_code = _state_code(state) if state else ""
    if not state_code:
        return ""
    minority_zones = _TIME_ZONE_BY_STATE_AND_AREA_CODE.get(state_code)
    if minority_zones and phone:
        area_code_zone = minority_zones.get(_nanp_area_code(phone))
        if area_code_zone:
            return area_code_zone
    return _TIME_ZONE_BY_STATE[state_code]

"""The common shapes of `leads.normalize`'s rules, a whole column at a time, in Polars.

`leads.normalize` stays the one definition of every rule. Each function here takes a column of
raw strings and answers, per value, what the scalar normaliser answers, but only for the shapes
it recognises with certainty: every other value (blank, foreign, odd, invalid) comes back null,
and the caller hands it to the scalar normaliser (`with_residue`). Polars runs the expressions
in Rust, outside the GIL. tests/leads/test_normalize_columnar.py proves, value by value over
generated and sampled shapes, that a non-null answer here is exactly the scalar one.

Every pattern here reads ASCII only and spells digits `[0-9]` (Rust's `\\d` is Unicode), and only
ASCII whitespace that Python's `str.strip` also strips is stripped.
"""

import functools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import polars as pl

from leads.normalize import (
    _BOOL_BY_WORD,
    _STATE_CODE_BY_NAME_KEY,
    _STATE_NAME_BY_CODE,
    InvalidValue,
    _nanp_number_is_dialable,
    _nanp_valid_number_pattern,
)

# A raw value: a cell, or (for ZIP codes) a (cell, state) pair.
Raw = TypeVar("Raw")

WHITESPACE = " \t\n\r\x0b\x0c"
_ASCII = r"^[\x00-\x7f]*$"
_PHONE_SHAPE = r"^\+?[0-9 ().\-]+$"
_PHONE_PUNCTUATION = r"[ ().\-+]"
_EMAIL_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~\-]+"
_EMAIL_LABEL = r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
_EMAIL = (
    rf"^{_EMAIL_LOCAL}(?:\.{_EMAIL_LOCAL})*@(?:{_EMAIL_LABEL}\.)+(?:[a-z]{{2,}}|xn--[a-z0-9\-]+)$"
)
_MAX_EMAIL_LENGTH = 254
_STATE_WORDS = r"^[A-Za-z. ]+$"
_ZIP = r"^([0-9]{5})(?:[- ]?[0-9]{4})?$"
_ISO_DATE = r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$"
_US_DATE = r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$"
_EARLIEST_BIRTH_YEAR = 1900
_PRICE = r"^\$?[0-9]{1,8}(?:\.[0-9]{1,2})?$"
_NATIONAL_DIGITS = 10
_NATIONAL_PREFIX = 6  # NPA + NXX: what decides whether most NANP numbers are valid (see below)


RAW = pl.col("raw")


def _stripped() -> pl.Expr:
    """The raw value stripped of ASCII whitespace, or null if it is not ASCII."""
    return pl.when(RAW.str.contains(_ASCII)).then(RAW.str.strip_chars(WHITESPACE))


def _evaluated(raws: pl.Series, expression: pl.Expr) -> pl.Series:
    return pl.DataFrame({"raw": raws}).select(expression.alias("value")).to_series()


def phones(raws: pl.Series) -> pl.Series:
    """E.164 for 10-digit and 1 + 10-digit US/Canada numbers with common punctuation."""
    text = _stripped()
    digits = text.str.replace_all(_PHONE_PUNCTUATION, "")
    national = (
        pl.when(~text.str.contains(_PHONE_SHAPE))
        .then(None)
        .when((digits.str.len_bytes() == 11) & digits.str.starts_with("1"))
        .then(digits.str.slice(1))
        .when((digits.str.len_bytes() == 10) & ~text.str.starts_with("+"))
        .then(digits)
    )
    numbers = _evaluated(raws, national)
    prefixes = numbers.str.slice(0, _NATIONAL_PREFIX)
    valid = _valid_prefixes(prefixes.drop_nulls().unique().to_list())
    dialable = prefixes.is_in(pl.Series(valid, dtype=pl.String).implode())
    return pl.select(pl.when(dialable).then(pl.lit("+1") + numbers)).to_series()


_prefix_validity: dict[str, bool] = {}


def _valid_prefixes(prefixes: list[str]) -> list[str]:
    """Those of `prefixes` (first six digits of a national number) that make a valid number.

    Each is judged once, by the scalar rule on the prefix and any four digits: the phone
    metadata decides validity by the first six digits but for the prefixes it sets apart
    (`nanp_prefixes_apart`), which are left out here.
    """
    apart = nanp_prefixes_apart()
    if apart is None:
        return []
    prefixes = [prefix for prefix in prefixes if prefix not in apart]
    for prefix in prefixes:
        if prefix not in _prefix_validity:
            _prefix_validity[prefix] = _nanp_number_is_dialable(prefix + "0000")
    return [prefix for prefix in prefixes if _prefix_validity[prefix]]


@functools.cache
def nanp_prefixes_apart() -> frozenset[str] | None:
    """The 6-digit starts of national numbers whose validity the first six digits do not
    decide; None if that cannot be read from the pattern (then no phone is judged here).

    Read from the parsed NANP validity pattern (`re._parser`): each alternative that can match
    ten digits must be a fixed-width start followed by free digits (`\\d{k}`). Where the start
    is six digits or shorter, the first six digits decide; a longer start (Jamaica's 876-606-0,
    say) sets its six-digit beginnings apart, and those numbers go to the scalar normaliser.
    A metadata update that breaks the shape sends every phone there instead of a wrong answer.
    """
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
    except ImportError:  # the parser moved
        return None
    parsed = _parser.parse(_nanp_valid_number_pattern().pattern)
    apart: set[str] = set()
    alternatives: list[list[Any]] = [list(parsed)]
    while alternatives:
        sequence = alternatives.pop()
        if len(sequence) == 1 and sequence[0][0] is _constants.BRANCH:
            alternatives.extend(list(branch) for branch in sequence[0][1][1])
            continue
        if len(sequence) == 1 and sequence[0][0] is _constants.SUBPATTERN:
            alternatives.append(list(sequence[0][1][-1]))
            continue
        if sequence and sequence[-1] == (_constants.AT, _constants.AT_END_STRING):
            alternatives.append(sequence[:-1])
            continue
        if sequence and sequence[0][0] is _constants.ASSERT:
            direction, pattern = sequence[0][1]
            if direction != 1:
                return None
            alternatives.extend((list(pattern), sequence[1:]))
            continue
        low, high = _parser.SubPattern(_parser.State(), sequence).getwidth()
        if low > _NATIONAL_DIGITS or high < _NATIONAL_DIGITS:
            continue  # cannot match a national number
        starts = _start_strings(sequence, _parser, _constants)
        if starts is None:
            return None
        apart |= starts
    return frozenset(apart)


def _start_strings(sequence: list[Any], parser: Any, constants: Any) -> set[str] | None:
    """The first six digits of the numbers `sequence` may match, if it is a fixed-width start
    followed by free digits (`\\d{k}`) to ten in all: empty when the start is six digits or
    shorter (the first six then decide); None for any other shape."""
    if not sequence:
        return None
    op, argument = sequence[-1]
    free_digit = [(constants.IN, [(constants.CATEGORY, constants.CATEGORY_DIGIT)])]
    if op is not constants.MAX_REPEAT or argument[0] != argument[1]:
        return None
    if list(argument[2]) != free_digit:
        return None
    low, high = parser.SubPattern(parser.State(), sequence[:-1]).getwidth()
    if low != high or low + argument[0] != _NATIONAL_DIGITS:
        return None
    if low <= _NATIONAL_PREFIX:
        return set()
    return _strings(sequence[:-1], constants)


_MAX_EXPANDED = 10_000


def _strings(sequence: list[Any], constants: Any) -> set[str] | None:
    """Every string of the first six characters `sequence` (single-character matchers and
    alternations of them) matches; None if it holds anything else or too many."""
    found = {""}
    for op, argument in sequence:
        if all(len(text) >= _NATIONAL_PREFIX for text in found):
            break
        if op is constants.BRANCH:
            options: set[str] = set()
            for branch in argument[1]:
                strings = _strings(list(branch), constants)
                if strings is None:
                    return None
                options |= strings
        else:
            digits = _digits_matched(op, argument, constants)
            if digits is None:
                return None
            options = set(digits)
        found = {text + option for text in found for option in options}
        if len(found) > _MAX_EXPANDED:
            return None
    return {text[:_NATIONAL_PREFIX] for text in found}


def _digits_matched(op: Any, argument: Any, constants: Any) -> str | None:
    """The digits a one-character matcher accepts, or None for anything else."""
    if op is constants.LITERAL:
        return chr(argument) if chr(argument).isdigit() else None
    if op is not constants.IN:
        return None
    digits = ""
    for item, value in argument:
        if item is constants.LITERAL:
            digits += chr(value)
        elif item is constants.RANGE:
            digits += "".join(map(chr, range(value[0], value[1] + 1)))
        elif (item, value) == (constants.CATEGORY, constants.CATEGORY_DIGIT):
            digits += "0123456789"
        else:
            return None
    return "".join(sorted(set(digits) & set("0123456789")))


def emails(raws: pl.Series) -> pl.Series:
    """Lower-cased ASCII addresses of the plain shape."""
    text = _stripped().str.to_lowercase()
    plain = text.str.contains(_EMAIL) & (text.str.len_bytes() <= _MAX_EMAIL_LENGTH)
    return _evaluated(raws, pl.when(plain).then(text))


@functools.cache
def _state_by_key() -> tuple[pl.Series, pl.Series]:
    codes = {code: code for code in _STATE_NAME_BY_CODE}
    table = {**_STATE_CODE_BY_NAME_KEY, **codes}
    return pl.Series(list(table)), pl.Series(list(table.values()))


def states(raws: pl.Series) -> pl.Series:
    """Two-letter codes for codes and names written with letters, dots and spaces."""
    text = _stripped()
    key = (
        text.str.to_uppercase()
        .str.replace_all(".", "", literal=True)
        .str.replace_all(" +", " ")
        .str.strip_chars(" ")
    )
    keys, codes = _state_by_key()
    code = key.replace_strict(keys, codes, default=None, return_dtype=pl.String)
    return _evaluated(raws, pl.when(text.str.contains(_STATE_WORDS)).then(code))


def zip_codes(raws: pl.Series) -> pl.Series:
    """Five-digit ZIP codes written as five or nine digits (ZIP+4); the state does not matter."""
    text = _stripped()
    zip_code = text.str.extract(_ZIP, 1)
    return _evaluated(raws, pl.when(zip_code != "00000").then(zip_code))


def booleans(raws: pl.Series) -> pl.Series:
    """True or False for the yes/no words."""
    word = _stripped().str.to_lowercase()
    words = pl.Series(list(_BOOL_BY_WORD))
    values = pl.Series(list(_BOOL_BY_WORD.values()), dtype=pl.Boolean)
    return _evaluated(
        raws, word.replace_strict(words, values, default=None, return_dtype=pl.Boolean)
    )


def dates_of_birth(raws: pl.Series, *, today: date, day_first: bool | None = None) -> pl.Series:
    """Dates written year-month-day (ISO) or month/day/year with a four-digit year (day/month/
    year with `day_first=True`), as `normalize_dob(raw, today=today, day_first=day_first)`."""
    text = _stripped()
    iso = text.str.extract_groups(_ISO_DATE)
    us = text.str.extract_groups(_US_DATE)
    us_month, us_day = ("2", "1") if day_first else ("1", "2")
    year = pl.coalesce(iso.struct.field("1"), us.struct.field("3"))
    month = pl.coalesce(iso.struct.field("2"), us.struct.field(us_month))
    day = pl.coalesce(iso.struct.field("3"), us.struct.field(us_day))
    written = pl.concat_str(
        [year, month.str.zfill(2), day.str.zfill(2)], separator="-"
    ).str.to_date("%Y-%m-%d", strict=False)
    certain = (
        (month.cast(pl.Int32) <= 12)  # else the scalar rule swaps day and month, or refuses
        & (written <= pl.lit(today))
        & (written.dt.year() >= _EARLIEST_BIRTH_YEAR)
    )
    return _evaluated(raws, pl.when(certain).then(written))


def prices(raws: pl.Series) -> pl.Series:
    """Amounts written as digits with at most two decimals, with or without a dollar sign."""
    text = _stripped()
    amount = text.str.strip_prefix("$").cast(pl.Decimal(10, 2), strict=False)
    return _evaluated(raws, pl.when(text.str.contains(_PRICE)).then(amount))


def with_residue(
    raws: Sequence[Raw],
    vectorised: pl.Series,
    scalar: Callable[[Sequence[Raw]], list[Any]],
) -> list[Any]:
    """The vectorised answers, with every null replaced by what `scalar` answers for its raw
    value (`scalar` takes the list of those raw values and answers in order)."""
    values = vectorised.to_list()
    residue = vectorised.is_null().arg_true().to_list()
    if residue:
        answers = scalar([raws[position] for position in residue])
        for position, answer in zip(residue, answers, strict=True):
            values[position] = answer
    return values


def scalar_answer(normalise: Callable[[str], Any], raw: str) -> Any:
    """What the scalar normaliser answers for `raw`: its value, or the InvalidValue it raises."""
    try:
        return normalise(raw)
    except InvalidValue as error:
        return detached(error)


def detached(error: InvalidValue) -> InvalidValue:
    """`error` without its traceback and context, to be kept as a value: they hold the frames
    of the batch being converted, in a reference cycle that only the cyclic collector frees —
    and imports pause it (imports.services.collector_paused)."""
    error.__traceback__ = error.__context__ = None
    return error


COLUMNAR: dict[str, Callable[..., pl.Series]] = {
    "phone": phones,
    "email": emails,
    "state": states,
    "bool": booleans,
    "price": prices,
}


def normalizer_columnar_warm_up() -> None:
    """Read the NANP pattern's shape once, before the import's threads need it."""
    nanp_prefixes_apart()

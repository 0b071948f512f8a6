"""One CSV record to the lead fields `leads.bulk.lead_bulk_upsert` takes.

Every value goes through `leads.normalize`. A row is unusable only without a usable phone and a
usable email; any other value that does not parse is left empty with a warning.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from imports.parsing.layouts import Layout
from leads.exports import FORMULA_PREFIXES
from leads.models import Lead, LeadStatus
from leads.normalize import (
    InvalidValue,
    format_height,
    normalize_dob,
    normalize_email,
    normalize_gender,
    normalize_phone,
    normalize_state,
    normalize_zip,
    parse_bool,
    parse_price,
)

# Most columns repeat a few values (states, dates, yes/no, prices); each converter remembers up
# to this many answers, so a 100k-row file normalises each distinct value once.
CACHE_LIMIT = 50_000
MAX_PRICE = Decimal("99999999.99")
MAX_SMALL_COUNT = 32_767
MAX_COUNT = 2_147_483_647
KEY_FIELDS = ("phone", "email")
STATUS_BY_WORD = {
    **{status.value.lower(): status.value for status in LeadStatus},
    "follow up": LeadStatus.FOLLOW_UP.value,
    "followup": LeadStatus.FOLLOW_UP.value,
}
PRODUCTS = frozenset({"data", "ad"})
_MISSING = object()


@dataclass(slots=True)
class ConvertedRow:
    line: int
    cells: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def _invalid(description: str, raw: str) -> InvalidValue:
    return InvalidValue(f'{description}: "{raw.strip()[:40]}"')


def _text(raw: str) -> str:
    return raw.strip()


def _count(limit: int) -> Callable[[str], int]:
    def convert(raw: str) -> int:
        text = raw.strip()
        try:
            number = float(text)
        except ValueError:
            raise _invalid("not a whole number", raw) from None
        if not number.is_integer() or not 0 <= number <= limit:
            raise _invalid("not a whole number in range", raw)
        return int(number)

    return convert


def _price(raw: str) -> Decimal | None:
    price = parse_price(raw)
    if price is not None and price > MAX_PRICE:
        raise _invalid("price is too large", raw)
    return price


def _status(raw: str) -> str:
    status = STATUS_BY_WORD.get(" ".join(raw.split()).lower())
    if status is None:
        raise _invalid("not a lead status", raw)
    return status


def _product(raw: str) -> str:
    product = raw.strip().lower()
    if product not in PRODUCTS:
        raise _invalid("not a NextGen product (data or ad)", raw)
    return product


def _vendor_datetime(raw: str) -> datetime:
    text = raw.strip()
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        moment = None
    if moment is None:
        raise _invalid("not a valid date and time", raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _split_name(raw: str) -> tuple[str, str]:
    text = " ".join(raw.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.rpartition(" ")
    return (first, last) if first else (last, "")


def _unneutralised(raw: str) -> str:
    return raw[1:] if raw.startswith("'") and raw[1:].startswith(FORMULA_PREFIXES) else raw


class RowConverter:
    """Convert the records of one file; keeps per-column caches, so use one per import.

    The columns are sorted once by what they need (plain text, a cached normaliser, a phone or
    email check) so the per-row loop does as little as possible: at 100k rows, every
    microsecond per column is four seconds.
    """

    def __init__(self, layout: Layout, *, today: date | None = None) -> None:
        self.layout = layout
        normalisers: dict[str, Callable[[str], Any]] = {
            "phone": normalize_phone,
            "email": normalize_email,
            "state": normalize_state,
            "dob": lambda raw: normalize_dob(raw, today=today),
            "gender": normalize_gender,
            "height": format_height,
            "bool": parse_bool,
            "small_count": _count(MAX_SMALL_COUNT),
            "count": _count(MAX_COUNT),
            "price": _price,
            "status": _status,
            "product": _product,
            "datetime": _vendor_datetime,
        }
        max_length = {
            f.name: f.max_length
            for f in Lead._meta.concrete_fields
            if f.get_internal_type() == "CharField"
        }
        self.width = len(layout.header)
        self._identifiers = frozenset(c.field for c in layout.columns if c.kind == "id")
        # (index, field, max length) of columns stored as trimmed text
        self._text: list[tuple[int, str, int]] = []
        # (index, field, normaliser, cache) of columns whose few distinct values are remembered
        self._cached: list[tuple[int, str, Callable[[str], Any], dict[str, Any]]] = []
        # (index, field, normaliser) of phone and email, unique per lead and so never cached
        self._keys: list[tuple[int, str, Callable[[str], Any]]] = []
        # later columns for a field an earlier column already feeds (Phone, then Mobile, then Cell)
        self._fallbacks: list[tuple[int, str, str]] = []
        self._zip_columns: list[int] = []
        self._name_columns: list[int] = []
        seen: set[str] = set()
        for column in layout.columns:
            index, name, kind = column.index, column.field, column.kind
            if kind == "zip":
                self._zip_columns.append(index)
            elif kind == "name":
                self._name_columns.append(index)
            elif name in seen:
                self._fallbacks.append((index, name, kind))
            elif kind in ("text", "id"):
                self._text.append((index, name, max_length.get(name) or 1_000_000))
            elif kind in ("phone", "email"):
                self._keys.append((index, name, normalisers[kind]))
            else:
                self._cached.append((index, name, normalisers[kind], {}))
            seen.add(name)
        self._normalisers = normalisers
        self._max_length = max_length
        self._zip_cache: dict[tuple[str, str], Any] = {}

    def convert(self, line: int, cells: list[str]) -> ConvertedRow:
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        row = ConvertedRow(line=line, cells=cells)
        fields = row.fields
        header = self.layout.header
        problems: dict[str, str] = {}
        if self.layout.unneutralise:
            cells = [_unneutralised(cell) for cell in cells]

        for index, name, limit in self._text:
            raw = cells[index]
            if raw:
                value = raw.strip()
                if value:
                    if len(value) > limit:
                        problems[name] = f"{header[index]}: longer than {limit} characters"
                        if name in self._identifiers:
                            continue
                        value = value[:limit]
                    fields[name] = value
        for index, name, convert, cache in self._cached:
            raw = cells[index]
            if not raw:
                continue
            value = cache.get(raw, _MISSING)
            if value is _MISSING:
                try:
                    value = convert(raw)
                except InvalidValue as error:
                    value = error
                if len(cache) < CACHE_LIMIT:
                    cache[raw] = value
            if value is None or value == "":
                continue
            if type(value) is InvalidValue:
                problems[name] = f"{header[index]}: {value}"
            else:
                fields[name] = value
        for index, name, convert in self._keys:
            raw = cells[index]
            if raw:
                try:
                    value = convert(raw)
                except InvalidValue as error:
                    problems[name] = f"{header[index]}: {error}"
                    continue
                if value:
                    fields[name] = value
        if self._fallbacks:
            self._convert_fallbacks(cells, fields, problems)
        if self._name_columns:
            self._split_name(cells, fields)
        if self._zip_columns:
            self._convert_zip(cells, fields, problems)

        if "phone" not in fields and "email" not in fields:
            reasons = [problems[name] for name in KEY_FIELDS if name in problems]
            row.error = "No usable phone or email" + (f" ({'; '.join(reasons)})" if reasons else "")
            return row
        for name, message in problems.items():
            if name in fields:
                row.warnings.append(f"{message}; cut short")
            elif name == "status":
                row.warnings.append(f"{message}; left as {LeadStatus.NEW.value}")
            else:
                row.warnings.append(f"{message}; left empty")
        if self.layout.unmapped:
            extras = {}
            for index, name in self.layout.unmapped:
                value = cells[index].strip()
                if value:
                    extras[name] = value
            if extras:
                fields["vendor_data"] = extras
        return row

    def _convert_fallbacks(
        self, cells: list[str], fields: dict[str, Any], problems: dict[str, str]
    ) -> None:
        for index, name, kind in self._fallbacks:
            raw = cells[index].strip()
            if not raw or fields.get(name):
                continue
            normalise = self._normalisers.get(kind)
            try:
                value = normalise(raw) if normalise else raw[: self._max_length.get(name)]
            except InvalidValue as error:
                problems.setdefault(name, f"{self.layout.header[index]}: {error}")
                continue
            if value is not None and value != "":
                fields[name] = value
                problems.pop(name, None)

    def _split_name(self, cells: list[str], fields: dict[str, Any]) -> None:
        if "first_name" in fields or "last_name" in fields:
            return
        for index in self._name_columns:
            raw = cells[index]
            if raw and not raw.isspace():
                break
        else:
            return
        if raw:
            first, last = _split_name(raw)
            if first:
                fields["first_name"] = first[: self._max_length["first_name"]]
            if last:
                fields["last_name"] = last[: self._max_length["last_name"]]

    def _convert_zip(
        self, cells: list[str], fields: dict[str, Any], problems: dict[str, str]
    ) -> None:
        for index in self._zip_columns:
            if cells[index] and not cells[index].isspace():
                break
        else:
            return
        key = (cells[index], fields.get("state", ""))
        value = self._zip_cache.get(key, _MISSING)
        if value is _MISSING:
            try:
                value = normalize_zip(key[0], key[1])
            except InvalidValue as error:
                value = error
            if len(self._zip_cache) < CACHE_LIMIT:
                self._zip_cache[key] = value
        if type(value) is InvalidValue:
            problems["zipcode"] = f"{self.layout.header[index]}: {value}"
        elif value:
            fields["zipcode"] = value

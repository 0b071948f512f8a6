"""CSV records to the lead fields `leads.bulk.lead_bulk_upsert` takes, a batch at a time.

Every value goes through `leads.normalize`. A row is unusable only without a usable phone and a
usable email; any other value that does not parse is left empty with a warning.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from django.utils.dateparse import parse_date, parse_datetime

from imports.parsing.dates import DATE_ORDERS, dob_reader
from imports.parsing.layouts import Layout
from leads import normalize_columnar as columnar
from leads.bounds import MAX_PRICE
from leads.bulk import LeadColumns
from leads.exports import FORMULA_PREFIXES
from leads.models import Lead, LeadStatus
from leads.normalize import (
    DAY_FIRST,
    MONTH_FIRST,
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
from leads.services import is_empty

# Each column remembers up to this many converted values (see _Remembered).
CACHE_LIMIT = 20_000
MAX_SMALL_COUNT = 32_767
MAX_COUNT = 2_147_483_647
# Vendor timestamps outside these years are typos or junk, and some (year 0, year 10000 in UTC)
# could be stored but not read back.
EARLIEST_VENDOR_YEAR = 1900
LATEST_VENDOR_YEAR = 2100
KEY_FIELDS = ("phone", "email")
STATUS_BY_WORD = {
    **{status.value.lower(): status.value for status in LeadStatus},
    "follow up": LeadStatus.FOLLOW_UP.value,
    "followup": LeadStatus.FOLLOW_UP.value,
}
PRODUCTS = frozenset({"data", "ad"})


@dataclass(slots=True)
class ConvertedRow:
    line: int
    cells: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def _invalid(description: str, raw: str) -> InvalidValue:
    return InvalidValue(f'{description}: "{raw.strip()[:40]}"')


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
    if not EARLIEST_VENDOR_YEAR <= moment.year <= LATEST_VENDOR_YEAR:
        raise _invalid(f"not a date between {EARLIEST_VENDOR_YEAR} and {LATEST_VENDOR_YEAR}", raw)
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


class _Remembered:
    """A normaliser that converts each distinct raw value once and remembers the answer.

    Most columns repeat a few values (states, dates, yes/no, prices). A value that does not
    parse is remembered as its InvalidValue, and its raw text in `invalid`.
    """

    def __init__(
        self,
        convert: Callable[[Any], Any],
        vectorised: Callable[[pl.Series], pl.Series] | None = None,
    ) -> None:
        self._convert = convert
        self._vectorised = vectorised
        self.results: dict[Any, Any] = {}
        self.invalid: set[Any] = set()

    def map_column(self, raws: Sequence[str]) -> list[Any]:
        """`map` for a column of raw strings: the shapes the vectorised normaliser recognises
        are answered in Polars (leads.normalize_columnar), the rest here."""
        if self._vectorised is None:
            return self.map(raws)
        answers = self._vectorised(pl.Series(raws, dtype=pl.String))
        return columnar.with_residue(raws, answers, self.map)

    def map(self, raws: Sequence[Any]) -> list[Any]:
        results = self.results
        unseen = set(raws).difference(results)
        if unseen:
            if len(results) + len(unseen) > CACHE_LIMIT:  # forget the older batches' values
                results.clear()
                self.invalid.clear()
                unseen = set(raws)
            for raw in unseen:
                results[raw] = self._result(raw)
        return list(map(results.__getitem__, raws))

    def _result(self, raw: Any) -> Any:
        if raw == "":
            return None
        try:
            value = self._convert(raw)
        except InvalidValue as error:
            self.invalid.add(raw)
            return columnar.detached(error)
        return None if value == "" else value


def _zip_code(raw_and_state: tuple[str, str]) -> str | None:
    raw, state = raw_and_state
    return normalize_zip(raw, state) if raw and not raw.isspace() else None


class RowConverter:
    """Convert the records of one file; remembers converted values, so use one per import.

    Records are converted a batch at a time and a column at a time (`convert_batch`): most work
    is then a C loop over a column (strip, a dict lookup per value) instead of Python statements
    per cell. At 100k rows of 40 columns, every 100 ns per cell is 0.4 s.
    """

    def __init__(
        self,
        layout: Layout,
        *,
        today: date | None = None,
        cleaned: dict[int, str] | None = None,
        date_orders: Mapping[int, str] | None = None,
    ) -> None:
        """`cleaned` is the one `csv_records` fills: each record that lost control characters
        gets a warning saying which. `date_orders` gives the order of each DOB column by index
        (imports.parsing.dates; a column not in it is month-first); None reads each value on
        its own."""
        self.layout = layout
        self.cleaned = cleaned if cleaned is not None else {}
        today = today or datetime.now(UTC).date()
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
        # The common shapes of these kinds, a column at a time (leads.normalize_columnar).
        vectorised: dict[str, Callable[[pl.Series], pl.Series]] = {
            "phone": columnar.phones,
            "email": columnar.emails,
            "state": columnar.states,
            "dob": lambda raws: columnar.dates_of_birth(raws, today=today),
            "bool": columnar.booleans,
            "price": columnar.prices,
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
        # (index, field, normaliser) of columns whose few distinct values are remembered
        self._remembered: list[tuple[int, str, _Remembered]] = []
        # (index, field, normaliser, vectorised normaliser) of phone and email, unique per lead
        # and so never remembered
        self._keys: list[tuple[int, str, Callable[[str], Any], Callable[..., pl.Series]]] = []
        # later columns for a field an earlier column already feeds (Phone, then Mobile, then Cell)
        self._fallbacks: list[tuple[int, str, str]] = []
        # The DOB columns' normalisers: the order of a date column is the file's, not a value's.
        self._by_column: dict[int, Callable[[str], Any]] = {}
        self._zip_columns: list[int] = []
        self._name_columns: list[int] = []
        seen: set[str] = set()
        for column in layout.columns:
            index, name, kind = column.index, column.field, column.kind
            column_vectorised = vectorised.get(kind)
            if kind == "dob" and date_orders is not None:
                order = date_orders.get(index, MONTH_FIRST)
                self._by_column[index] = dob_reader(order, today=today)
                column_vectorised = None
                if order in DATE_ORDERS:
                    column_vectorised = functools.partial(
                        columnar.dates_of_birth, today=today, day_first=order == DAY_FIRST
                    )
            if kind == "zip":
                self._zip_columns.append(index)
            elif kind == "name":
                self._name_columns.append(index)
            elif name in seen:
                self._fallbacks.append((index, name, kind))
            elif kind in ("text", "id"):
                self._text.append((index, name, max_length.get(name) or 1_000_000))
            elif kind in ("phone", "email"):
                self._keys.append((index, name, normalisers[kind], vectorised[kind]))
            else:
                convert = self._by_column.get(index) or normalisers[kind]
                remembered = _Remembered(convert, column_vectorised)
                self._remembered.append((index, name, remembered))
            seen.add(name)
        self._normalisers = normalisers
        self._max_length = max_length
        self._zip_codes = _Remembered(_zip_code)
        columnar.normalizer_columnar_warm_up()

    def convert(self, line: int, cells: list[str]) -> ConvertedRow:
        """Convert one record (`convert_batch` converts many far faster)."""
        batch = self.convert_batch([(line, cells)])
        return ConvertedRow(
            line=line,
            cells=cells + [""] * (self.width - len(cells)),
            fields=batch.fields(0),
            warnings=batch.warnings.get(0, []),
            error=batch.errors.get(0, ""),
        )

    def convert_batch(self, records: Sequence[tuple[int, list[str]]]) -> "ConvertedBatch":
        """Convert (line, cells) records, each on its own: the result is as if one by one."""
        width = self.width
        cells = [row + [""] * (width - len(row)) if len(row) < width else row for _, row in records]
        count = len(cells)
        batch = ConvertedBatch(
            lines=[line for line, _ in records],
            leads=LeadColumns({}, count),
            cells=cells,
            width=width,
        )
        if not count:
            return batch
        by_column = self._by_column_of(cells)
        columns = batch.leads.columns
        # record → field → what was wrong with its value, in the order found
        problems: dict[int, dict[str, str]] = {}
        self._convert_text(by_column, columns, problems)
        self._convert_remembered(by_column, columns, problems)
        self._convert_keys(by_column, columns, problems)
        if self._fallbacks:
            self._convert_fallbacks(by_column, columns, problems, count)
        if self._name_columns:
            self._split_names(by_column, columns, count)
        if self._zip_columns:
            self._convert_zip(by_column, columns, problems, count)
        if self.layout.unmapped:
            columns["vendor_data"] = self._vendor_data(by_column)
        self._judge(batch, problems)
        if self.cleaned:
            self._note_cleaned(batch)
        batch.rejected_cells = {row: cells[row][:width] for row in batch.errors}
        return batch

    def _by_column_of(self, cells: list[list[str]]) -> list[tuple[str, ...]]:
        """The records' cells, column by column (unneutralised if the file is our export)."""
        raw = cells
        if self.layout.unneutralise:
            raw = [[_unneutralised(cell) for cell in row] for row in cells]
        return list(zip(*raw, strict=False))  # records may have more cells than the header

    def _convert_text(
        self,
        by_column: list[tuple[str, ...]],
        columns: dict[str, list[Any]],
        problems: dict[int, dict[str, str]],
    ) -> None:
        header = self.layout.header
        for index, name, limit in self._text:
            values = list(map(str.strip, by_column[index]))
            if max(map(len, values)) > limit:
                keep_start = name not in self._identifiers
                for row, value in enumerate(values):
                    if len(value) > limit:
                        problems.setdefault(row, {})[name] = (
                            f"{header[index]}: longer than {limit} characters"
                        )
                        values[row] = value[:limit] if keep_start else ""
            columns[name] = values

    def _convert_remembered(
        self,
        by_column: list[tuple[str, ...]],
        columns: dict[str, list[Any]],
        problems: dict[int, dict[str, str]],
    ) -> None:
        header = self.layout.header
        for index, name, remembered in self._remembered:
            raws = by_column[index]
            values = remembered.map_column(raws)
            if not remembered.invalid.isdisjoint(raws):
                _set_aside_invalid(values, problems, name, _same_heading(header[index]))
            columns[name] = values

    def _convert_keys(
        self,
        by_column: list[tuple[str, ...]],
        columns: dict[str, list[Any]],
        problems: dict[int, dict[str, str]],
    ) -> None:
        header = self.layout.header
        for index, name, convert, vectorised in self._keys:
            raws = by_column[index]
            columns[name] = values = columnar.with_residue(
                raws,
                vectorised(pl.Series(raws, dtype=pl.String)),
                functools.partial(_scalar_answers, convert),
            )
            for row, value in enumerate(values):
                if type(value) is InvalidValue:
                    problems.setdefault(row, {})[name] = f"{header[index]}: {value}"
                    values[row] = ""

    def _vendor_data(self, by_column: list[tuple[str, ...]]) -> list[dict[str, str] | None]:
        """Per record, the unmapped columns' non-blank values by header, or None if none."""
        names = [name for _, name in self.layout.unmapped]
        stripped = [map(str.strip, by_column[index]) for index, _ in self.layout.unmapped]
        return [
            {name: value for name, value in zip(names, values, strict=True) if value} or None
            for values in zip(*stripped, strict=True)
        ]

    def _note_cleaned(self, batch: "ConvertedBatch") -> None:
        for row, line in enumerate(batch.lines):
            removed = self.cleaned.pop(line, None)
            if removed is not None and row not in batch.errors:
                batch.warnings.setdefault(row, []).append(f"control characters removed ({removed})")

    def _judge(self, batch: "ConvertedBatch", problems: dict[int, dict[str, str]]) -> None:
        """Note the records without a phone or email as errors, and the others' warnings."""
        phones, emails = batch.leads.column("phone"), batch.leads.column("email")
        for row, (phone, email) in enumerate(zip(phones, emails, strict=True)):
            if not (phone or email):
                found = problems.get(row, {})
                reasons = [found[name] for name in KEY_FIELDS if name in found]
                batch.errors[row] = "No usable phone or email" + (
                    f" ({'; '.join(reasons)})" if reasons else ""
                )
        columns = batch.leads.columns
        for row in sorted(problems.keys() - batch.errors.keys()):
            messages = batch.warnings[row] = []
            for name, message in problems[row].items():
                if not is_empty(columns[name][row]):
                    messages.append(f"{message}; cut short")
                elif name == "status":
                    messages.append(f"{message}; left as {LeadStatus.NEW.value}")
                else:
                    messages.append(f"{message}; left empty")

    def _convert_fallbacks(
        self,
        by_column: list[tuple[str, ...]],
        columns: dict[str, list[Any]],
        problems: dict[int, dict[str, str]],
        count: int,
    ) -> None:
        header = self.layout.header
        for index, name, kind in self._fallbacks:
            values = columns.setdefault(name, [None] * count)
            normalise = self._by_column.get(index) or self._normalisers.get(kind)
            for row, raw_value in enumerate(by_column[index]):
                raw = raw_value.strip()
                if not raw or values[row]:
                    continue
                try:
                    value = normalise(raw) if normalise else raw[: self._max_length.get(name)]
                except InvalidValue as error:
                    problems.setdefault(row, {}).setdefault(name, f"{header[index]}: {error}")
                    continue
                if value is not None and value != "":
                    values[row] = value
                    problems.get(row, {}).pop(name, None)

    def _split_names(
        self, by_column: list[tuple[str, ...]], columns: dict[str, list[Any]], count: int
    ) -> None:
        firsts = columns.setdefault("first_name", [None] * count)
        lasts = columns.setdefault("last_name", [None] * count)
        for row in range(count):
            if firsts[row] or lasts[row]:
                continue
            for index in self._name_columns:
                raw = by_column[index][row]
                if raw and not raw.isspace():
                    break
            else:
                continue
            first, last = _split_name(raw)
            if first:
                firsts[row] = first[: self._max_length["first_name"]]
            if last:
                lasts[row] = last[: self._max_length["last_name"]]

    def _convert_zip(
        self,
        by_column: list[tuple[str, ...]],
        columns: dict[str, list[Any]],
        problems: dict[int, dict[str, str]],
        count: int,
    ) -> None:
        # The first column that is not blank, per record, when several may hold the zip.
        chosen = [self._zip_columns[0]] * count
        if len(self._zip_columns) > 1:
            chosen = [
                next(
                    (i for i in self._zip_columns if by_column[i][row].strip()),
                    self._zip_columns[0],
                )
                for row in range(count)
            ]
        raws = [by_column[index][row] for row, index in enumerate(chosen)]
        states = [state or "" for state in columns.get("state") or [None] * count]
        keys = list(zip(raws, states, strict=True))
        # Five- and nine-digit ZIP codes need no state; the rest go through the scalar rule.
        values = columnar.with_residue(
            keys, columnar.zip_codes(pl.Series(raws, dtype=pl.String)), self._zip_codes.map
        )
        if not self._zip_codes.invalid.isdisjoint(keys):
            header = self.layout.header
            _set_aside_invalid(values, problems, "zipcode", lambda row: header[chosen[row]])
        columns["zipcode"] = values


def _same_heading(heading: str) -> Callable[[int], str]:
    """A `heading` for _set_aside_invalid when every record's value came from one column."""
    return lambda _row: heading


def _scalar_answers(convert: Callable[[str], Any], residue: Sequence[str]) -> list[Any]:
    """What `convert` answers for each raw phone or email the vectorised normaliser left."""
    return [columnar.scalar_answer(convert, raw) if raw else "" for raw in residue]


def _set_aside_invalid(
    values: list[Any],
    problems: dict[int, dict[str, str]],
    name: str,
    heading: Callable[[int], str],
) -> None:
    """Empty each InvalidValue among `values`, noting it as the problem with that record's `name`;
    `heading(record)` names the column it came from."""
    for row, value in enumerate(values):
        if type(value) is InvalidValue:
            problems.setdefault(row, {})[name] = f"{heading(row)}: {value}"
            values[row] = None


@dataclass(slots=True)
class ConvertedBatch:
    """Records of one file converted together: `leads` holds one column per lead field."""

    lines: list[int]
    leads: LeadColumns
    # every record's cells as read (padded to the header), for rows the database refuses
    cells: list[list[str]] = field(default_factory=list)
    width: int = 0  # the header's: the cells kept of a rejected record
    # record index → why it cannot be imported, and its cells as read
    errors: dict[int, str] = field(default_factory=dict)
    rejected_cells: dict[int, list[str]] = field(default_factory=dict)
    # record index → the values left empty or cut short
    warnings: dict[int, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)

    def fields(self, row: int) -> dict[str, Any]:
        return self.leads.row(row)

    def usable_leads(self) -> LeadColumns:
        """The records that can be imported, as leads for `lead_bulk_upsert`."""
        return self.leads.without(self.errors) if self.errors else self.leads

    def reject_usable(self, refused: Mapping[int, str]) -> None:
        """Reject the usable leads at these positions (of `usable_leads()`) with their reason."""
        if not refused:
            return
        usable = [row for row in range(len(self)) if row not in self.errors]
        width = self.width or None
        for position, message in refused.items():
            row = usable[position]
            self.errors[row] = message
            self.rejected_cells[row] = self.cells[row][:width]
            self.warnings.pop(row, None)

"""CSV records to the lead fields `leads.bulk.lead_bulk_upsert` takes, a batch at a time.

Every value goes through `leads.normalize`. A row is unusable only without a usable phone and a
usable email; any other value that does not parse is left empty with a warning.
"""

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from django.utils.dateparse import parse_date, parse_datetime

from imports.parsing.dates import DATE_ORDERS, dob_reader
from imports.parsing.layouts import Layout
from imports.parsing.reading import RawBatch
from leads import normalize_columnar as columnar
from leads.bounds import MAX_PRICE, PRICE_DECIMAL_PLACES, PRICE_MAX_DIGITS
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


# The type a batch's frame holds each kind's values in; every other kind is text (pl.String).
KIND_DTYPES: dict[str, pl.DataType] = {
    "dob": pl.Date(),
    "bool": pl.Boolean(),
    "small_count": pl.Int64(),
    "count": pl.Int64(),
    "price": pl.Decimal(PRICE_MAX_DIGITS, PRICE_DECIMAL_PLACES),
    "datetime": pl.Datetime("us", "UTC"),
}
# Polars strips what Python's str.strip strips but these four (the reader removes them anyway).
PYTHON_ONLY_SPACE = r"[\x1c-\x1f]"
# JSON escapes these itself (json.dumps); Polars writes the other escapes (_json_string).
JSON_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
# A ZIP code's remembered answer depends on the state: both make the key, split by this.
ZIP_KEY_SEPARATOR = "\x00"


class _Remembered:
    """A normaliser that converts each distinct raw value once and remembers the answer.

    Most columns repeat a few values (states, dates, yes/no, prices): a batch asks only for the
    distinct values it has not seen. A value that does not parse is answered with its
    InvalidValue.
    """

    def __init__(self, convert: Callable[[str], Any]) -> None:
        self._convert = convert
        self.results: dict[str, Any] = {}

    def answers(self, raws: Sequence[str]) -> list[Any]:
        results = self.results
        unseen = set(raws).difference(results)
        if unseen:
            if len(results) + len(unseen) > CACHE_LIMIT:  # forget the older batches' values
                results.clear()
                unseen = set(raws)
            for raw in unseen:
                results[raw] = self._result(raw)
        return list(map(results.__getitem__, raws))

    def _result(self, raw: str) -> Any:
        if raw == "":
            return None
        try:
            value = self._convert(raw)
        except InvalidValue as error:
            return columnar.detached(error)
        return None if value == "" else value


def _zip_code(key: str) -> str | None:
    raw, _, state = key.rpartition(ZIP_KEY_SEPARATOR)
    return normalize_zip(raw, state) if raw and not raw.isspace() else None


@dataclass(slots=True)
class _Answers:
    """A column's values (null: none) and, per record, why its raw value was refused."""

    values: pl.Series
    refused: dict[int, InvalidValue]


def _answers(
    keys: pl.Series,
    vectorised: pl.Series | None,
    remembered: _Remembered,
    dtype: pl.DataType,
) -> _Answers:
    """Each record's answer: the vectorised one where there is one (leads.normalize_columnar),
    else what `remembered` answers for its key (the raw value, or a ZIP code's raw value and
    state), asked once per distinct key."""
    residue = keys if vectorised is None else keys.filter(vectorised.is_null())
    distinct = residue.unique(maintain_order=True)
    answers = remembered.answers(distinct.to_list())
    refused_at = [at for at, answer in enumerate(answers) if type(answer) is InvalidValue]
    values = list(answers)
    for at in refused_at:
        values[at] = None
    if len(distinct):
        looked_up = keys.replace_strict(
            distinct, pl.Series(values, dtype=dtype), default=None, return_dtype=dtype
        )
    else:
        looked_up = pl.Series([None] * len(keys), dtype=dtype)
    if vectorised is not None:
        looked_up = pl.select(pl.coalesce(vectorised.cast(dtype), looked_up)).to_series()
    refused: dict[int, InvalidValue] = {}
    if refused_at:
        why = {distinct[at]: answers[at] for at in refused_at}
        rows = keys.is_in(pl.Series(list(why), dtype=pl.String).implode()).arg_true().to_list()
        refused = dict(zip(rows, map(why.__getitem__, keys.gather(rows).to_list()), strict=True))
    return _Answers(looked_up, refused)


def _strip(raws: pl.Expr) -> pl.Expr:
    """Each value as Python's str.strip leaves it (but see _has_python_only_space)."""
    return raws.str.strip_chars()


def _stripped(raws: pl.Series) -> pl.Series:
    return raws.str.strip_chars()


def _has_python_only_space(raw: pl.DataFrame) -> bool:
    """Whether a cell holds one of the four characters Python strips and Polars does not (the
    reader removes them: only records handed over directly can)."""
    return bool(
        raw.width
        and raw.select(pl.any_horizontal(pl.all().str.contains(PYTHON_ONLY_SPACE)).any()).item()
    )


def _truthy(values: pl.Series) -> pl.Series:
    """Where a value is what Python takes for true (a fallback column fills the others)."""
    if values.dtype == pl.String:
        return values.fill_null("") != ""
    if values.dtype == pl.Boolean:
        return values.fill_null(False)
    if values.dtype.is_numeric():
        return values.fill_null(0) != 0
    return values.is_not_null()


def _json_string(values: pl.Series) -> pl.Series:
    """Each value as a JSON string literal, quotes included."""
    escaped = (
        values.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
    )
    literal = pl.select(pl.lit('"') + escaped + pl.lit('"')).to_series()
    odd = values.str.contains(JSON_CONTROL).arg_true()
    if len(odd):
        literal = literal.scatter(
            odd, [json.dumps(value.replace("\x00", "")) for value in values.gather(odd).to_list()]
        )
    return literal


class RowConverter:
    """Convert the records of one file; remembers converted values, so use one per import.

    Records are converted a batch at a time and a column at a time in Polars (`convert_batch`):
    the common shapes of a value are normalised by the vectorised rules of
    `leads.normalize_columnar`, outside the GIL, and every other distinct value once by the
    scalar rule of `leads.normalize` (the one definition of each rule). The batch stays a frame
    of typed columns; only the rows that merge with a stored lead become Python values.
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
            "dob": lambda raws: columnar.dates_of_birth(raws, today=today),
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
        # (index, field, remembered normaliser, vectorised normaliser, type) of the others
        self._normalised: list[tuple[int, str, _Remembered, Any, pl.DataType]] = []
        # later columns for a field an earlier column already feeds (Phone, then Mobile, then Cell)
        self._fallbacks: list[tuple[int, str, str]] = []
        # The DOB columns' normalisers: the order of a date column is the file's, not a value's.
        self._by_column: dict[int, Callable[[str], Any]] = {}
        self._zip_columns: list[int] = []
        self._name_columns: list[int] = []
        self._dtypes: dict[str, pl.DataType] = {}
        seen: set[str] = set()
        for column in layout.columns:
            index, name, kind = column.index, column.field, column.kind
            self._dtypes.setdefault(name, KIND_DTYPES.get(kind, pl.String()))
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
            else:
                convert = self._by_column.get(index) or normalisers[kind]
                self._normalised.append(
                    (index, name, _Remembered(convert), column_vectorised, self._dtypes[name])
                )
            seen.add(name)
        # Text first, then the normalised kinds with the keys last, as the problems are listed.
        self._normalised.sort(key=lambda spec: spec[1] in KEY_FIELDS)
        self._normalisers = normalisers
        self._max_length = max_length
        self._zip_codes = _Remembered(_zip_code)
        self._dtypes["zipcode"] = pl.String()
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

    def convert_batch(
        self, records: "Sequence[tuple[int, list[str]]] | RawBatch"
    ) -> "ConvertedBatch":
        """Convert (line, cells) records, each on its own: the result is as if one by one."""
        if isinstance(records, RawBatch):
            lines, raw = records.lines, records.frame
        else:
            lines = [line for line, _ in records]
            raw = raw_frame([cells for _, cells in records], self.width)
        batch = ConvertedBatch(lines=lines, frame=pl.DataFrame(), raw=raw, width=self.width)
        if not lines:
            return batch
        if self.layout.unneutralise:
            raw = pl.DataFrame(list(map(_unneutralised_column, raw.get_columns())))
        if not isinstance(records, RawBatch) and _has_python_only_space(raw):
            raw = raw.select(
                pl.col(name).map_elements(str.strip, return_dtype=pl.String) for name in raw.columns
            )
        by_column = raw.get_columns()
        values: dict[str, pl.Series] = {}
        # record → field → what was wrong with its value, in the order found
        problems: dict[int, dict[str, str]] = {}
        self._convert_text(raw, values, problems)
        self._convert_normalised(raw, values, problems)
        if self._fallbacks:
            self._convert_fallbacks(by_column, values, problems)
        if self._name_columns:
            self._split_names(by_column, values)
        if self._zip_columns:
            self._convert_zip(by_column, values, problems)
        if self.layout.unmapped:
            values["vendor_data"] = self._vendor_data(by_column)
        batch.frame = pl.DataFrame([series.alias(name) for name, series in values.items()])
        self._judge(batch, problems)
        if self.cleaned:
            self._note_cleaned(batch)
        return batch

    def _convert_text(
        self,
        raw: pl.DataFrame,
        values: dict[str, pl.Series],
        problems: dict[int, dict[str, str]],
    ) -> None:
        """Every text column in one pass: stripped, and cut to the field's length."""
        if not self._text:
            return
        stripped = {name: _strip(pl.col(str(index))) for index, name, _ in self._text}
        longest = raw.select(
            text.str.len_chars().max().alias(name) for name, text in stripped.items()
        ).row(0, named=True)
        header = self.layout.header
        for index, name, limit in self._text:
            if (longest[name] or 0) <= limit:
                continue
            text = stripped[name]
            too_long = raw.select(text.str.len_chars() > limit).to_series()
            for row in too_long.arg_true().to_list():
                problems.setdefault(row, {})[name] = (
                    f"{header[index]}: longer than {limit} characters"
                )
            shortened = text.str.slice(0, limit) if name not in self._identifiers else pl.lit("")
            stripped[name] = pl.when(text.str.len_chars() > limit).then(shortened).otherwise(text)
        texts = raw.select(
            pl.when(text != "").then(text).alias(name) for name, text in stripped.items()
        )
        values.update(zip(texts.columns, texts.get_columns(), strict=True))

    def _convert_normalised(
        self,
        raw: pl.DataFrame,
        values: dict[str, pl.Series],
        problems: dict[int, dict[str, str]],
    ) -> None:
        header = self.layout.header
        # field → record → why its value was refused
        refused: dict[str, dict[int, str]] = {}
        # The kinds with a vectorised rule, a column at a time.
        for index, name, remembered, vectorised, dtype in self._normalised:
            if vectorised is None:
                continue
            raws = raw[str(index)]
            answers = _answers(raws, vectorised(raws), remembered, dtype)
            refused[name] = {
                row: f"{header[index]}: {error}" for row, error in answers.refused.items()
            }
            values[name] = answers.values
        # The others, all at once: each distinct value once.
        remembered_only = [spec for spec in self._normalised if spec[3] is None]
        if remembered_only:
            self._convert_remembered(raw, remembered_only, values, refused)
        # Problems are noted in the order of the columns, as one by one.
        for _, name, *_ in self._normalised:
            for row, message in refused.get(name, {}).items():
                problems.setdefault(row, {})[name] = message

    def _convert_remembered(
        self,
        raw: pl.DataFrame,
        remembered_only: list[tuple[int, str, _Remembered, Any, pl.DataType]],
        values: dict[str, pl.Series],
        refused: dict[str, dict[int, str]],
    ) -> None:
        header = self.layout.header
        distinct = raw.select(
            pl.col(str(index)).unique().implode().alias(name) for index, name, *_ in remembered_only
        ).row(0, named=True)
        mappings, refused_raws = [], {}
        for index, name, remembered, _, dtype in remembered_only:
            raws = distinct[name]
            answers = remembered.answers(raws)
            why = {
                raw: answer
                for raw, answer in zip(raws, answers, strict=True)
                if type(answer) is InvalidValue
            }
            if why:
                refused_raws[name] = (index, why)
            mapped = [None if type(answer) is InvalidValue else answer for answer in answers]
            mappings.append(
                pl.col(str(index))
                .replace_strict(
                    pl.Series(raws, dtype=pl.String),
                    pl.Series(mapped, dtype=dtype),
                    default=None,
                    return_dtype=dtype,
                )
                .alias(name)
            )
        mapped_values = raw.select(mappings)
        values.update(zip(mapped_values.columns, mapped_values.get_columns(), strict=True))
        if refused_raws:
            where = raw.select(
                pl.arg_where(
                    pl.col(str(index)).is_in(pl.Series(list(why), dtype=pl.String).implode())
                )
                .implode()
                .alias(name)
                for name, (index, why) in refused_raws.items()
            ).row(0, named=True)
            for name, (index, why) in refused_raws.items():
                rows = where[name]
                raws = raw[str(index)].gather(rows).to_list()
                refused[name] = {
                    row: f"{header[index]}: {why[raw_value]}"
                    for row, raw_value in zip(rows, raws, strict=True)
                }

    def _convert_fallbacks(
        self,
        by_column: list[pl.Series],
        values: dict[str, pl.Series],
        problems: dict[int, dict[str, str]],
    ) -> None:
        header = self.layout.header
        count = len(by_column[0])
        for index, name, kind in self._fallbacks:
            dtype = self._dtypes[name]
            current = values.get(name, pl.Series([None] * count, dtype=dtype))
            raws = _stripped(by_column[index])
            wanted = (~_truthy(current) & (raws != "")).arg_true().to_list()
            if not wanted:
                continue
            normalise = self._by_column.get(index) or self._normalisers.get(kind)
            filled = current.to_list()
            for row, raw in zip(wanted, raws.gather(wanted).to_list(), strict=True):
                try:
                    value = normalise(raw) if normalise else raw[: self._max_length.get(name)]
                except InvalidValue as error:
                    problems.setdefault(row, {}).setdefault(name, f"{header[index]}: {error}")
                    continue
                if value is not None and value != "":
                    filled[row] = value
                    problems.get(row, {}).pop(name, None)
            values[name] = pl.Series(filled, dtype=dtype)

    def _split_names(self, by_column: list[pl.Series], values: dict[str, pl.Series]) -> None:
        count = len(by_column[0])
        nothing = pl.Series([None] * count, dtype=pl.String)
        firsts, lasts = values.get("first_name", nothing), values.get("last_name", nothing)
        unnamed = (~_truthy(firsts) & ~_truthy(lasts)).arg_true().to_list()
        if not unnamed:
            return
        names = [by_column[index].gather(unnamed).to_list() for index in self._name_columns]
        first_values, last_values = firsts.to_list(), lasts.to_list()
        for at, row in enumerate(unnamed):
            raw = next(
                (column[at] for column in names if column[at] and not column[at].isspace()), None
            )
            if raw is None:
                continue
            first, last = _split_name(raw)
            if first:
                first_values[row] = first[: self._max_length["first_name"]]
            if last:
                last_values[row] = last[: self._max_length["last_name"]]
        values["first_name"] = pl.Series(first_values, dtype=pl.String)
        values["last_name"] = pl.Series(last_values, dtype=pl.String)

    def _convert_zip(
        self,
        by_column: list[pl.Series],
        values: dict[str, pl.Series],
        problems: dict[int, dict[str, str]],
    ) -> None:
        # The first column that is not blank, per record, when several may hold the zip.
        columns = self._zip_columns
        raws, chosen = by_column[columns[0]], pl.Series([columns[0]] * len(by_column[0]))
        if len(columns) > 1:
            choice = pl.lit(columns[0])
            pick = by_column[columns[0]]
            for index in reversed(columns):
                blank = _stripped(by_column[index]) == ""
                choice = pl.when(~blank).then(pl.lit(index)).otherwise(choice)
            chosen = pl.select(choice).to_series()
            for index in columns[1:]:
                pick = pl.select(
                    pl.when(chosen == index).then(by_column[index]).otherwise(pick)
                ).to_series()
            raws = pick
        states = values.get("state", pl.Series([None] * len(raws), dtype=pl.String))
        keys = pl.select(
            pl.concat_str([raws, pl.lit(ZIP_KEY_SEPARATOR), states.fill_null("")])
        ).to_series()
        answers = _answers(keys, columnar.zip_codes(raws), self._zip_codes, pl.String())
        header = self.layout.header
        for row, error in answers.refused.items():
            problems.setdefault(row, {})["zipcode"] = f"{header[chosen[row]]}: {error}"
        values["zipcode"] = answers.values

    def _vendor_data(self, by_column: list[pl.Series]) -> pl.Series:
        """Per record, the unmapped columns' non-blank values by header as a JSON object, or
        null if none."""
        members = []
        for index, name in self.layout.unmapped:
            kept = _stripped(by_column[index])
            member = pl.lit(json.dumps(name) + ":") + _json_string(kept)
            members.append(pl.when(kept != "").then(member))
        body = pl.concat_str(members, separator=",", ignore_nulls=True)
        return pl.select(pl.when(body != "").then(pl.lit("{") + body + pl.lit("}"))).to_series()

    def _note_cleaned(self, batch: "ConvertedBatch") -> None:
        for row, line in enumerate(batch.lines):
            removed = self.cleaned.pop(line, None)
            if removed is not None and row not in batch.errors:
                batch.warnings.setdefault(row, []).append(f"control characters removed ({removed})")

    def _judge(self, batch: "ConvertedBatch", problems: dict[int, dict[str, str]]) -> None:
        """Note the records without a phone or email as errors, and the others' warnings."""
        frame = batch.frame
        keys = [frame[name].is_not_null() for name in KEY_FIELDS if name in frame.columns]
        usable = pl.select(pl.any_horizontal(keys)).to_series() if keys else None
        unusable = range(len(batch)) if usable is None else usable.not_().arg_true().to_list()
        for row in unusable:
            found = problems.get(row, {})
            reasons = [found[name] for name in KEY_FIELDS if name in found]
            batch.errors[row] = "No usable phone or email" + (
                f" ({'; '.join(reasons)})" if reasons else ""
            )
            batch.rejected_cells[row] = batch.cells(row)
        for row in sorted(problems.keys() - batch.errors.keys()):
            messages = batch.warnings[row] = []
            for name, message in problems[row].items():
                if not is_empty(frame[name][row]):
                    messages.append(f"{message}; cut short")
                elif name == "status":
                    messages.append(f"{message}; left as {LeadStatus.NEW.value}")
                else:
                    messages.append(f"{message}; left empty")


def raw_frame(cells: Sequence[list[str]], width: int) -> pl.DataFrame:
    """Records' cells as a frame of `width` text columns "0", "1", … (short records padded)."""
    padded = [row + [""] * (width - len(row)) if len(row) < width else row for row in cells]
    # Records may have more cells than the header: those are dropped.
    columns = list(zip(*padded, strict=False))[:width]
    return pl.DataFrame(
        {str(index): pl.Series(column, dtype=pl.String) for index, column in enumerate(columns)}
    )


def _unneutralised_column(raws: pl.Series) -> pl.Series:
    guarded = raws.str.starts_with("'").arg_true()
    if not len(guarded):
        return raws
    return raws.scatter(guarded, [_unneutralised(raw) for raw in raws.gather(guarded).to_list()])


@dataclass(slots=True)
class ConvertedBatch:
    """Records of one file converted together: `frame` holds one column per lead field."""

    lines: list[int]
    frame: pl.DataFrame
    # the records' cells as read (the header's width of them), for rows the database refuses
    raw: pl.DataFrame = field(default_factory=pl.DataFrame)
    width: int = 0
    # record index → why it cannot be imported, and its cells as read
    errors: dict[int, str] = field(default_factory=dict)
    rejected_cells: dict[int, list[str]] = field(default_factory=dict)
    # record index → the values left empty or cut short
    warnings: dict[int, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)

    def cells(self, row: int) -> list[str]:
        return list(self.raw.row(row)) if self.raw.width else []

    def fields(self, row: int) -> dict[str, Any]:
        return LeadColumns.from_frame(self.frame.slice(row, 1)).row(0)

    def usable_leads(self) -> LeadColumns:
        """The records that can be imported, as leads for `lead_bulk_upsert`."""
        if not self.errors:
            return LeadColumns.from_frame(self.frame)
        usable = pl.Series([row not in self.errors for row in range(len(self))])
        return LeadColumns.from_frame(self.frame.filter(usable))

    def reject_usable(self, refused: Mapping[int, str]) -> None:
        """Reject the usable leads at these positions (of `usable_leads()`) with their reason."""
        if not refused:
            return
        usable = [row for row in range(len(self)) if row not in self.errors]
        for position, message in refused.items():
            row = usable[position]
            self.errors[row] = message
            self.rejected_cells[row] = self.cells(row)
            self.warnings.pop(row, None)

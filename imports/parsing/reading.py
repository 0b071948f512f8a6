"""Bytes to CSV records: encoding, delimiter, line numbers, and the errors a user can act on.

Files are read as streams, a megabyte at a time, so memory does not grow with the file. The csv
module's field size limit (128 KiB) is kept: a longer field, or a quote that is never closed,
rejects the file with the line it starts on instead of reading on without bound.

Control characters (NUL and the rest of C0 but tab, CR and LF) are removed from every line as it
is read, whatever the encoding, so no later step sees them: PostgreSQL cannot store NUL at all,
and the others are invisible in a lead. The caller learns which records lost some
(docs/imports-hostile-files.md).
"""

import codecs
import csv
import io
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO

import polars as pl

from imports.parsing.dates import DateColumnScan, DateEvidence

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_BYTES = 1024 * 1024
HEAD_CHARS = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# What a line loses as it is read: C0 controls but tab, LF and CR.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# How much of the file's start tells UTF-16 without a byte order mark, or binary data, apart.
SAMPLE_BYTES = 4096
# A few control bytes in a text file are stray characters to remove; more than this many, and
# over BINARY_SHARE of the sample, make it binary data (an image, a spreadsheet's zip).
BINARY_CONTROL_BYTES = 3
BINARY_SHARE = 0.05
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "cp1252": "Windows-1252",
}


class CsvRejected(Exception):
    """The file cannot be imported at all; the message says why, with a line when there is one."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"Line {line}: {message}" if line else message)


@dataclass(frozen=True)
class CsvShape:
    encoding: str
    delimiter: str
    header: list[str] = field(default_factory=list)
    data_rows: int = 0
    # column index → how its day/month/year dates tell their order (imports.parsing.dates)
    date_evidence: dict[int, DateEvidence] = field(default_factory=dict)


def detect_encoding(binary: BinaryIO) -> str:
    """Return the file's encoding: 'utf-8-sig' or 'utf-16' for a BOM, 'utf-16-le' or 'utf-16-be'
    when its start looks like UTF-16 without one, else 'utf-8' if every byte decodes, else 'cp1252'.

    Excel on Windows saves "CSV" as cp1252 without a BOM; a file that is not UTF-8 is taken to
    be that, unless it held UTF-8 text (beyond ASCII) before its first undecodable bytes: then it
    is UTF-8 with bad bytes, which the reader refuses with their line, rather than UTF-8 read as
    Windows-1252. Raise CsvRejected for binary data. The stream is left at its start.
    """
    binary.seek(0)
    sample = binary.read(SAMPLE_BYTES)
    binary.seek(0)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if utf16 := _utf16_without_bom(sample):
        return utf16
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > max(BINARY_CONTROL_BYTES, BINARY_SHARE * len(sample)):
        raise CsvRejected("This is not a CSV file: it holds binary data.")
    decoder = codecs.getincrementaldecoder("utf-8")()
    read_utf8 = False  # UTF-8 text beyond ASCII, decoded so far
    try:
        while chunk := binary.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                read_utf8 = read_utf8 or not chunk[: max(error.start, 0)].isascii()
                return "utf-8" if read_utf8 else "cp1252"
            read_utf8 = read_utf8 or not chunk.isascii()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # the file ends mid-character
        return "utf-8" if read_utf8 else "cp1252"
    finally:
        binary.seek(0)
    return "utf-8"


_CONTROL_BYTES = bytes(code for code in range(32) if code not in (9, 10, 13))


def _utf16_without_bom(sample: bytes) -> str | None:
    """Return 'utf-16-le' or 'utf-16-be' if `sample` reads as UTF-16 text without a BOM.

    CSV text is mostly ASCII, which UTF-16 writes as a NUL byte beside each character: NULs at
    nearly every odd offset (little-endian) or even offset (big-endian), and hardly any at the
    others. A text file with a stray NUL has them at neither.
    """
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0 : 2 * pairs : 2].count(0), sample[1 : 2 * pairs : 2].count(0)
    for encoding, text_nuls, other_nuls in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if text_nuls >= pairs * 0.5 and other_nuls <= text_nuls * 0.05:
            try:
                codecs.getincrementaldecoder(encoding)().decode(sample[: 2 * pairs])
            except UnicodeDecodeError:
                return None
            return encoding
    return None


def _text_stream(binary: BinaryIO, encoding: str, errors: str = "strict") -> io.TextIOWrapper:
    binary.seek(0)
    # newline="" hands line endings to the csv module, which keeps quoted newlines intact.
    buffered = io.BufferedReader(_Unclosable(binary), buffer_size=CHUNK_BYTES)
    return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline="")


class _Unclosable(io.RawIOBase):
    """Let a TextIOWrapper read a file it does not own, without closing it when collected."""

    def __init__(self, binary: BinaryIO) -> None:
        self._binary = binary

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer)
        data = self._binary.read(len(view))
        view[: len(data)] = data
        return len(data)


def sniff_delimiter(binary: BinaryIO, encoding: str) -> str:
    """Return the delimiter seen most often, outside quotes, in the first non-blank line."""
    # Undecodable bytes are reported with their line by csv_records, not here.
    with _text_stream(binary, encoding, errors="replace") as text:
        head = text.read(HEAD_CHARS)
    binary.seek(0)
    first_line = next((line for line in head.splitlines() if line.strip()), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    for char in first_line:
        if char == '"':
            in_quotes = not in_quotes
        elif not in_quotes and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_records(
    binary: BinaryIO, *, encoding: str, delimiter: str, cleaned: dict[int, str] | None = None
) -> Generator[tuple[int, list[str]], None, None]:
    """Yield (line the record starts on, cells) for every non-blank record, header included.

    Control characters are removed as the lines are read; for each record that lost some,
    `cleaned` (if given) maps its line to what was removed ("U+0000 ×2"). Raise CsvRejected
    for malformed CSV or undecodable bytes, naming the line.
    """
    removed: dict[int, str] = {}
    with _text_stream(binary, encoding) as text:
        reader = csv.reader(_without_controls(text, removed), delimiter=delimiter, strict=True)
        next_line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise CsvRejected(_csv_problem(str(error)), line=next_line) from None
            except UnicodeDecodeError:
                line = _first_undecodable_line(binary, encoding)
                raise CsvRejected(_undecodable(encoding), line=line) from None
            line = next_line
            next_line = reader.line_num + 1
            if removed:
                _note_removed(removed, line, next_line, cleaned)
            if any(map(str.strip, cells)):
                yield line, cells


def _without_controls(lines: Iterator[str], removed: dict[int, str]) -> Iterator[str]:
    """Yield `lines` without control characters, noting in `removed` what each line lost."""
    for number, line in enumerate(lines, 1):
        if CONTROL_CHARACTERS.search(line):
            found = CONTROL_CHARACTERS.findall(line)
            removed[number] = ", ".join(
                f"U+{ord(char):04X}" + (f" ×{count}" if (count := found.count(char)) > 1 else "")
                for char in sorted(set(found))
            )
            line = CONTROL_CHARACTERS.sub("", line)
        yield line


def _note_removed(
    removed: dict[int, str], first: int, after: int, cleaned: dict[int, str] | None
) -> None:
    """Move what the lines `first` to `after - 1` lost (one record's) into `cleaned[first]`."""
    lost = [removed.pop(number) for number in range(first, after) if number in removed]
    if lost and cleaned is not None:
        cleaned[first] = "; ".join(lost)


def _first_undecodable_line(binary: BinaryIO, encoding: str) -> int | None:
    """Return the line of the first bytes `encoding` cannot decode (the reader decodes a
    megabyte ahead, so it cannot tell)."""
    with _text_stream(binary, encoding, errors=UNDECODABLE_MARKER) as text:
        for number, line in enumerate(text, 1):
            if _MARKER in line:
                return number
    return None


def _mark_undecodable(error: UnicodeError) -> tuple[str | bytes, int]:
    # Registered for decoding only; anything else fails as "strict" would.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return _MARKER, error.end


# A noncharacter: no text holds it, so the first one marks the first undecodable bytes.
_MARKER = "\uffff"
UNDECODABLE_MARKER = "crokodial-mark-undecodable"
codecs.register_error(UNDECODABLE_MARKER, _mark_undecodable)


def _undecodable(encoding: str) -> str:
    if encoding == "cp1252":
        return "this line holds bytes that are neither UTF-8 nor Windows-1252 text."
    return f"this line holds bytes that are not {ENCODING_NAMES.get(encoding, encoding)} text."


def _csv_problem(message: str) -> str:
    if "field larger than field limit" in message:
        return f"a field is longer than {csv.field_size_limit() // 1024} KB (an unclosed quote?)."
    if "unexpected end of data" in message:
        return "a quoted field is never closed."
    if "NUL" in message:
        return "this is not a CSV file: it holds binary data."
    return f"malformed CSV ({message})."


def inspect_csv(binary: BinaryIO) -> CsvShape:
    """Read the whole file once and return its shape; raise CsvRejected if it cannot be imported."""
    binary.seek(0)
    if not binary.read(1):
        raise CsvRejected("The file is empty.")
    encoding = detect_encoding(binary)
    delimiter = sniff_delimiter(binary, encoding)
    records = csv_records(binary, encoding=encoding, delimiter=delimiter)
    first = next(records, None)
    records.close()
    if first is None:
        binary.seek(0)
        raise CsvRejected("The file has no header row.")
    header = first[1]
    data_rows = 0
    dates = DateColumnScan()
    for batch in raw_batches(
        binary, encoding=encoding, delimiter=delimiter, width=len(header), batch_size=20_000
    ):
        data_rows += batch.frame.height
        dates.add_frame(batch.frame)
    binary.seek(0)
    return CsvShape(
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        data_rows=data_rows,
        date_evidence=dates.evidence,
    )


@dataclass
class RawBatch:
    """Data records as read: the line each starts on, and their cells as Polars columns.

    `frame` has one String column per header column, named "0", "1", …; a missing cell is "",
    and cells beyond the header's width are dropped.
    """

    lines: list[int]
    frame: pl.DataFrame

    def cells(self, row: int) -> list[str]:
        """Return record `row`'s cells, for an error report."""
        return list(self.frame.row(row))


def raw_batches(
    binary: BinaryIO,
    *,
    encoding: str,
    delimiter: str,
    width: int,
    batch_size: int,
    skip: int = 0,
    cleaned: dict[int, str] | None = None,
) -> Iterator[RawBatch]:
    """Yield the file's data records (after the header and `skip` more, for a resumed import) in
    batches of `batch_size`, exactly as csv_records reads them: same records, cells, lines,
    `cleaned` notes and CsvRejected errors.

    A common file (UTF-8 without control characters or lone carriage returns, well-formed
    quoting, records shorter than the field limit and no wider than the header) is read by
    Polars in Rust, outside the GIL, a few megabytes at a time; anything else is read by
    csv_records (docs/imports.md). Should Polars read a part otherwise than the lines said it
    would, csv_records reads on from the first record of that part.
    """
    state = _Progress(skip=skip)
    pieces = _csv_pieces(binary, encoding, delimiter, width, batch_size, state, cleaned, after=0)
    plan = _polars_plan(binary, encoding=encoding, delimiter=delimiter, width=width)
    if plan is not None:
        pieces = _polars_pieces(plan, binary, width, state)
    try:
        yield from _rebatched(pieces, batch_size)
    except _Diverged as diverged:
        # What was read but not yet yielded comes first, so the batches keep their size.
        yield from _rebatched(
            _csv_pieces(
                binary, encoding, delimiter, width, batch_size, state, cleaned,
                after=diverged.line, pending=diverged.pending,
            ),
            batch_size,
        )  # fmt: skip


@dataclass
class _Progress:
    """What has been read so far: the header, and how many data records are still to skip."""

    skip: int
    header_read: bool = False


@dataclass
class _Plan:
    delimiter: str
    # one row per record, blank ones and the header included: its first line ("line"), lines
    # spanned ("span"), whether it may be blank ("maybe_blank")
    records: pl.DataFrame


class _Diverged(Exception):
    """Polars read a part of the file otherwise than its lines said: read on from `line`."""

    def __init__(self, line: int, pending: list[RawBatch]) -> None:
        self.line = line
        self.pending = pending


def _rebatched(pieces: Iterator[RawBatch], batch_size: int) -> Iterator[RawBatch]:
    """Yield `pieces` (of any size) as batches of `batch_size` records, the last one shorter."""
    pending: list[RawBatch] = []
    held = 0
    try:
        for piece in pieces:
            pending.append(piece)
            held += len(piece.lines)
            while held >= batch_size:
                whole = _joined(pending)
                yield _sliced(whole, 0, batch_size)
                rest = _sliced(whole, batch_size, held - batch_size)
                pending, held = [rest], held - batch_size
    except _Diverged as diverged:
        raise _Diverged(diverged.line, [*pending, *diverged.pending]) from None
    if held:
        yield _joined(pending)


def _joined(pieces: list[RawBatch]) -> RawBatch:
    if len(pieces) == 1:
        return pieces[0]
    lines = [line for piece in pieces for line in piece.lines]
    return RawBatch(lines=lines, frame=pl.concat([piece.frame for piece in pieces]))


def _sliced(batch: RawBatch, offset: int, length: int) -> RawBatch:
    return RawBatch(
        lines=batch.lines[offset : offset + length], frame=batch.frame.slice(offset, length)
    )


def _csv_pieces(
    binary: BinaryIO,
    encoding: str,
    delimiter: str,
    width: int,
    batch_size: int,
    state: _Progress,
    cleaned: dict[int, str] | None,
    *,
    after: int,
    pending: list[RawBatch] | None = None,
) -> Iterator[RawBatch]:
    """Yield what csv_records reads from line `after` on (after `pending`), in RawBatch pieces."""
    yield from pending or []
    records = csv_records(binary, encoding=encoding, delimiter=delimiter, cleaned=cleaned)
    if after:
        records = (record for record in records if record[0] >= after)
    if not state.header_read:
        next(records, None)
        state.header_read = True
    for _ in islice(records, state.skip):
        pass
    state.skip = 0
    columns = [str(index) for index in range(width)]
    while batch := list(islice(records, batch_size)):
        rows = [cells[:width] + [""] * (width - len(cells)) for _line, cells in batch]
        frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
        yield RawBatch(lines=[line for line, _cells in batch], frame=frame)


_BOM = "\ufeff"
# How much of the file Polars reads at once, checking lines or reading cells: a part's cells
# take a few times its size in memory, and each part costs a fixed time (bench/csv_reading.py).
POLARS_PART_BYTES = 2 * CHUNK_BYTES
LINES_PART_BYTES = 2 * CHUNK_BYTES


def _polars_plan(binary: BinaryIO, *, encoding: str, delimiter: str, width: int) -> _Plan | None:
    """Return the file's records, told apart line by line (_line_records), if Polars can read it
    exactly as csv_records does; else None."""
    if encoding not in ("utf-8", "utf-8-sig") or width < 1 or delimiter not in DELIMITERS:
        return None
    binary.seek(0)
    bom = binary.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
    if encoding == "utf-8" and bom:
        return None  # csv_records keeps this BOM in the first cell; Polars drops it
    try:
        records = _line_records(binary, delimiter)
    except pl.exceptions.PolarsError:  # bytes that are not UTF-8
        return None
    finally:
        binary.seek(0)
    return None if records is None else _Plan(delimiter=delimiter, records=records)


def _line_parts(binary: BinaryIO, size: int) -> Iterator[bytes]:
    """Yield the file from its start in parts of about `size` bytes, each ending with a line
    break but the last."""
    binary.seek(0)
    rest = b""
    while chunk := binary.read(size):
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            rest += chunk
            continue
        yield rest + chunk[:cut]
        rest = chunk[cut:]
    if rest:
        yield rest


def _polars_parts(binary: BinaryIO, plan: _Plan) -> Iterator[tuple[bytes, pl.DataFrame]]:
    """Yield the file in parts of about POLARS_PART_BYTES, each ending where a record ends, with
    the records each holds."""
    records = plan.records
    starts = records["line"]
    index, line = 0, 1  # the part's first record and first line
    part = b""
    for lines in _line_parts(binary, POLARS_PART_BYTES):
        part += lines
        next_line = line + part.count(b"\n")
        next_index = starts.search_sorted(next_line)
        at_record = next_index < len(starts) and starts[next_index] == next_line
        if at_record and part.endswith(b"\n"):
            yield part, records.slice(index, next_index - index)
            index, line, part = next_index, next_line, b""
        # else inside a quoted field, or at the end: read on
    if part:
        yield part, records.slice(index)


def _polars_pieces(
    plan: _Plan, binary: BinaryIO, width: int, state: _Progress
) -> Iterator[RawBatch]:
    """Yield the data records Polars reads, a part of the file at a time; raise _Diverged when
    a part's cells do not match its records."""
    columns = [str(index) for index in range(width)]
    for part, records in _polars_parts(binary, plan):
        first_line = records["line"][0]
        if first_line > 1 and part.startswith(codecs.BOM_UTF8):
            raise _Diverged(first_line, [])  # Polars would drop it; csv_records keeps it
        try:
            cells = pl.read_csv(
                part,
                has_header=False,
                separator=plan.delimiter,
                quote_char='"',
                schema=dict.fromkeys(columns, pl.String),
                missing_columns="insert",  # a first record narrower than the header
                raise_if_empty=False,
                encoding="utf8",
            )  # a record wider than the header raises: csv_records reads its extra cells
        except pl.exceptions.PolarsError:
            raise _Diverged(first_line, []) from None
        if cells.height != records.height:
            raise _Diverged(first_line, [])
        records = records.with_row_index("row")
        # A record over several lines holds the line breaks between them in its cells.
        multiline = records.filter(pl.col("span") > 1)
        breaks = pl.sum_horizontal(
            pl.col(columns).str.count_matches("\n", literal=True).fill_null(0)
        ).alias("breaks")
        if not (cells[multiline["row"]].select(breaks)["breaks"] + 1 == multiline["span"]).all():
            raise _Diverged(first_line, [])
        # A record is blank when every cell is empty or whitespace; only one made of
        # whitespace, delimiters and quotes can be.
        maybe_blank = records.filter(pl.col("maybe_blank"))
        blank = cells[maybe_blank["row"]].select(
            pl.all_horizontal(pl.col(columns).str.strip_chars().fill_null("") == "").alias("b")
        )["b"]
        kept = records.filter(~pl.col("row").is_in(maybe_blank["row"].filter(blank).implode()))
        if not state.header_read and kept.height:
            kept = kept.slice(1)
            state.header_read = True
        skipped = min(state.skip, kept.height)
        kept, state.skip = kept.slice(skipped), state.skip - skipped
        if not kept.height:
            continue
        first, last = kept["row"][0], kept["row"][-1]
        if last - first + 1 == kept.height:  # no blank record among them: no copy
            frame = cells.slice(first, kept.height)
        else:
            frame = cells[kept["row"]]
        nulls = frame.null_count().row(0)
        missing = [column for column, count in zip(columns, nulls, strict=True) if count]
        frame = frame.with_columns(pl.col(missing).fill_null(""))
        yield RawBatch(lines=kept["line"].to_list(), frame=frame)


def _line_records(binary: BinaryIO, delimiter: str) -> pl.DataFrame | None:
    """Return one row per record of the file: the line it starts on, how many lines it spans, and
    whether it may be blank. Records are told apart by the quotes each line leaves open.

    Return None unless every line is well-formed CSV whatever reads it: valid UTF-8, no control
    characters or lone carriage returns, quotes only around whole fields (doubled inside), no
    quote left open, no record longer than the field limit (which csv_records enforces).
    """
    parts: list[pl.DataFrame] = []
    open_quote, line = False, 1
    for part in _line_parts(binary, LINES_PART_BYTES):  # to bound memory
        if part.endswith(b"\r"):
            return None  # a lone carriage return at the very end
        if line > 1 and part.startswith(codecs.BOM_UTF8):
            return None  # Polars would drop it; csv_records keeps it
        lines = _checked_lines(part, delimiter, first_line=line, open_quote=open_quote)
        if lines is None:
            return None
        parts.append(lines.drop("open_after"))
        open_quote, line = lines["open_after"][-1], line + lines.height
    if open_quote:
        return None
    if not parts:
        return pl.DataFrame(schema={"line": pl.Int64, "span": pl.Int64, "maybe_blank": pl.Boolean})
    frame = pl.concat(parts)
    total_lines, total_bytes = frame.height, frame["size"].sum()
    total_filled = frame["filled"].sum()
    starts = frame.select(
        "line",
        "open_before",
        bytes_before=pl.col("size").cum_sum() - pl.col("size"),
        filled_before=pl.col("filled").cum_sum() - pl.col("filled"),
    ).filter(~pl.col("open_before"))
    records = starts.select(
        "line",
        span=pl.col("line").shift(-1, fill_value=total_lines + 1) - pl.col("line"),
        size=pl.col("bytes_before").shift(-1, fill_value=total_bytes) - pl.col("bytes_before"),
        maybe_blank=pl.col("filled_before").shift(-1, fill_value=total_filled)
        == pl.col("filled_before"),
    )
    if records["size"].max() > csv.field_size_limit():  # type: ignore[operator]
        return None
    return records.drop("size")


def _checked_lines(
    part: bytes, delimiter: str, *, first_line: int, open_quote: bool
) -> pl.DataFrame | None:
    """Return, for each line of `part`: its number, size (bytes, at least), whether it holds more
    than whitespace, delimiters and quotes ("filled"), and whether a quote is open before and
    after it; None if one is not well-formed (see _line_records)."""
    # One row per line: no quoting, and a separator no line may hold (a control character).
    lines = pl.read_csv(
        part,
        has_header=False,
        separator="\x01",
        quote_char=None,
        schema={"text": pl.String},
        raise_if_empty=False,
        encoding="utf8",
    ).with_columns(pl.col("text").fill_null(""))
    if lines.height != part.count(b"\n") + (not part.endswith(b"\n")):
        return None
    d = f"\\x{{{ord(delimiter):X}}}"  # the delimiter, escaped for a regex
    field_ = f'(?:"(?:[^"]|"")*"|[^"{d}\\r]*)'
    inside = '(?:[^"]|"")*'
    text = pl.col("text")
    frame = (
        lines.select(
            text,
            line=pl.int_range(first_line, first_line + pl.len()),
            quotes=text.str.count_matches('"', literal=True),
            size=text.str.len_bytes() + 2,
            # Polars drops a line's final CR: any other is a lone one.
            odd=text.str.contains(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]"),
            filled=~text.str.contains(f'^[\\s{d}"]*$'),
        )
        .with_columns(open_after=(pl.col("quotes").cum_sum() + open_quote) % 2 == 1)
        .with_columns(open_before=pl.col("open_after").shift(1, fill_value=open_quote))
    )
    if frame["odd"].any():
        return None
    # What a line holding quotes must look like, by whether it starts and ends inside a quote.
    shapes = {
        (False, False): f"^{field_}(?:{d}{field_})*\\r?$",
        (False, True): f'^(?:{field_}{d})*"{inside}$',
        (True, True): f'^{inside}(?:"{d}(?:{field_}{d})*"{inside})?$',
        (True, False): f'^{inside}"(?:{d}{field_})*\\r?$',
    }
    for (before, after), shape in shapes.items():
        lines_of_shape = frame.filter(
            pl.col("quotes") > 0, pl.col("open_before") == before, pl.col("open_after") == after
        )
        if not lines_of_shape.select(text.str.contains(shape).all()).item():
            return None
    return frame.select("line", "size", "filled", "open_before", "open_after")

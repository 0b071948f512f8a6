"""raw_batches reads a file's data records exactly as csv_records does, in Polars batches, and
reads the common file in Polars itself (docs/imports.md, *Reading*)."""

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from imports.parsing import reading
from imports.parsing.reading import (
    DELIMITERS,
    CsvRejected,
    _Diverged,
    _polars_pieces,
    _polars_plan,
    _Progress,
    csv_records,
    detect_encoding,
    raw_batches,
)
from tests.imports.conftest import fixture_bytes

Read = tuple[list[tuple[list[int], list[list[str]]]], dict[int, str], tuple[str, int | None] | None]


def read_by_csv_records(
    content: bytes, *, encoding: str, delimiter: str, width: int, batch_size: int, skip: int
) -> Read:
    """What raw_batches must answer: csv_records' data records, cut to `width` and grouped."""
    cleaned: dict[int, str] = {}
    batches: list[tuple[list[int], list[list[str]]]] = []
    try:
        stream = io.BytesIO(content)
        records = list(csv_records(stream, encoding=encoding, delimiter=delimiter, cleaned=cleaned))
    except CsvRejected as error:
        return batches, cleaned, (str(error), error.line)
    data = records[1:][skip:]
    for start in range(0, len(data), batch_size):
        part = data[start : start + batch_size]
        batches.append(
            (
                [line for line, _cells in part],
                [cells[:width] + [""] * (width - len(cells)) for _line, cells in part],
            )
        )
    return batches, cleaned, None


def read_by_raw_batches(
    content: bytes, *, encoding: str, delimiter: str, width: int, batch_size: int, skip: int
) -> Read:
    cleaned: dict[int, str] = {}
    batches: list[tuple[list[int], list[list[str]]]] = []
    try:
        for batch in raw_batches(
            io.BytesIO(content),
            encoding=encoding,
            delimiter=delimiter,
            width=width,
            batch_size=batch_size,
            skip=skip,
            cleaned=cleaned,
        ):
            assert batch.frame.columns == [str(index) for index in range(width)]
            assert batch.frame.null_count().sum_horizontal().item() == 0
            assert len(batch.lines) == batch.frame.height
            batches.append((batch.lines, [batch.cells(row) for row in range(batch.frame.height)]))
    except CsvRejected as error:
        return batches, cleaned, (str(error), error.line)
    return batches, cleaned, None


def header_width(content: bytes, encoding: str, delimiter: str) -> int:
    try:
        first = next(csv_records(io.BytesIO(content), encoding=encoding, delimiter=delimiter), None)
    except CsvRejected:
        return 3
    return len(first[1]) if first else 3


def assert_read_alike(content: bytes, delimiter: str = ",", *, reads=((1, 0), (3, 2))):
    """Read `content` both ways, for each (batch size, skip) in `reads`, with Polars reading it
    whole or a few bytes at a time (parts cut inside quoted fields, a fallback after parts)."""
    try:
        encoding = detect_encoding(io.BytesIO(content))
    except CsvRejected:
        return
    shape = {"encoding": encoding, "delimiter": delimiter}
    shape["width"] = header_width(content, encoding, delimiter)
    for part_bytes in (reading.POLARS_PART_BYTES, 1, 16):
        for batch_size, skip in reads:
            expected = read_by_csv_records(content, **shape, batch_size=batch_size, skip=skip)
            with polars_parts_of(part_bytes):
                actual = read_by_raw_batches(content, **shape, batch_size=batch_size, skip=skip)
            if expected[2] is not None:  # refused: the same error, after whatever was read
                assert actual[2] == expected[2]
                assert actual[1] == expected[1]
            else:
                assert actual == expected


@contextmanager
def polars_parts_of(part_bytes: int) -> Iterator[None]:
    defaults = reading.POLARS_PART_BYTES, reading.LINES_PART_BYTES
    reading.POLARS_PART_BYTES = reading.LINES_PART_BYTES = part_bytes
    try:
        yield
    finally:
        reading.POLARS_PART_BYTES, reading.LINES_PART_BYTES = defaults


def is_fast(content: bytes, delimiter: str = ",") -> bool:
    """Whether Polars reads the whole file (no fallback to csv_records, at the start or later)."""
    encoding = detect_encoding(io.BytesIO(content))
    width = header_width(content, encoding, delimiter)
    stream = io.BytesIO(content)
    plan = _polars_plan(stream, encoding=encoding, delimiter=delimiter, width=width)
    if plan is None:
        return False
    try:
        list(_polars_pieces(plan, io.BytesIO(content), width, _Progress(skip=0)))
    except _Diverged:
        return False
    return True


# --- Generated files ----------------------------------------------------------------------------

PIECES = [
    "a", "Bo", "2104611180", " ", "  x ", "é", "Ünï", "\u00a0", "\u2003", "\u3000", "\u0085",
    "\ufeff", ",", ";", "\t", "|", '"', '""', "\n", "\r\n", "\r", "=SUM(A1)", "\x00", "\x07",
    "\x1c", "\x1f", "€", "🐊",
]  # fmt: skip
messy_cells = st.lists(st.sampled_from(PIECES), max_size=4).map("".join)


def quoted(cell: str, delimiter: str, style: str) -> str:
    if style == "raw":
        return cell
    if style == "all" or any(char in cell for char in f'"{delimiter}\r\n') or cell != cell.strip():
        return '"' + cell.replace('"', '""') + '"'
    return cell


CLEAN_PIECES = [piece for piece in PIECES if piece not in ("\r", "\x00", "\x07", "\x1c", "\x1f")]
clean_cells = st.lists(st.sampled_from(CLEAN_PIECES), max_size=4).map("".join)


@st.composite
def csv_files(draw: st.DrawFn, *, clean: bool = False) -> tuple[bytes, str]:
    """A CSV file and its delimiter; a `clean` one is UTF-8 without control characters, lone
    carriage returns or malformed quoting (but still ragged, with blank lines and records)."""
    cells = clean_cells if clean else messy_cells
    delimiter = draw(st.sampled_from(DELIMITERS))
    width = draw(st.integers(1, 4))
    header = [draw(st.sampled_from(["Phone", "Email", "Name", "Notes", "é"])) for _ in range(width)]
    rows = draw(st.lists(st.lists(cells, max_size=width + 2), max_size=8))
    style = draw(st.sampled_from(["minimal", "all"] if clean else ["minimal", "all", "raw"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    blanks = ["", " ", delimiter * 2, '""', "\u00a0"] + ([] if clean else ["\r"])
    blank_lines = draw(st.lists(st.sampled_from(blanks), max_size=2))
    records = [delimiter.join(header)]
    for row in rows:
        records.append(delimiter.join(quoted(cell, delimiter, style) for cell in row))
    if blank_lines:
        at = draw(st.integers(0, len(records)))
        records[at:at] = blank_lines
    text = newline.join(records) + draw(st.sampled_from([newline, ""]))
    encodings = ["utf-8", "utf-8-sig"] if clean else ["utf-8", "utf-8-sig", "cp1252", "utf-16"]
    encoding = draw(st.sampled_from(encodings))
    content = text.encode(encoding, errors="replace")
    # a stray undecodable byte
    if not clean and draw(st.booleans()) and content and encoding != "utf-16":
        at = draw(st.integers(0, len(content)))
        content = content[:at] + draw(st.sampled_from([b"\x81", b"\xff", b"\xc3"])) + content[at:]
    return content, delimiter


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files())
@example((b'Phone,Notes\n2104611180,"one\ntwo"\n\n,\n2104611181,x\n', ","))
@example((b'Phone,Notes\r\n"21046\r\n11180",\r\n  ,\t\r\n2104611181,"a""b"', ","))
@example((codecs.BOM_UTF8 + b'Phone;Notes\n"x";y;z;\n1;2\n', ";"))
@example((b"\n\n  \nPhone,Notes\n1\n1,2,3\n", ","))
@example((b'Phone,Notes\n1, "a,b"\n2,a"b\n', ","))
@example((b'Phone,Notes\n1,"a"b\n', ","))
@example((b'Phone,Notes\n1,"never closed\n2,x\n', ","))
@example((b"Phone,Notes\n1,\xc2\xa0\n2,\xe2\x80\x83\n", ","))
@example((b'Phone,Phone\n"\n","\n"\n', ","))
def test_raw_batches_read_every_file_as_csv_records_does(file):
    content, delimiter = file
    assert_read_alike(content, delimiter)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(clean=True))
def test_clean_files_are_read_by_polars_as_csv_records_reads_them(file):
    content, delimiter = file
    assert_read_alike(content, delimiter)
    # Only a record wider than the header (its extra cells are checked) leaves the lane.
    encoding = detect_encoding(io.BytesIO(content))
    text = io.StringIO(content.decode(encoding), newline="")
    widest = max((len(cells) for cells in csv.reader(text, delimiter=delimiter)), default=0)
    if widest <= header_width(content, encoding, delimiter):
        assert is_fast(content, delimiter)


# --- Files the existing tests hold --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fast"),
    [
        ("marketplace_export_sample.csv", False),  # Windows-1252
        ("nextgen_export_sample.csv", True),
        ("spreadsheet_leads_sample.csv", True),  # UTF-8 with a BOM
    ],
)
def test_vendor_samples_are_read_as_csv_records_reads_them(name, fast):
    content = fixture_bytes(name)

    assert is_fast(content) == fast
    assert_read_alike(content)


@pytest.mark.parametrize(
    "content",
    [
        b'Phone,Notes\n2104611180,"one\ntwo"\n\n,\n2104611181,x\n',
        b'Phone,Notes\r\n2104611180,"a,\r\nb ""c"""\r\n\r\n2104611181,\r\n',
        codecs.BOM_UTF8 + "Phone,Notes\n2104611180,José\n".encode(),
        "Phone,Notes\n2104611180,\u00a0\n\u2003,\n2104611181,x".encode(),
        b"Phone,Notes,Extra\n2104611180\n2104611181,a\n",
    ],
)
def test_common_files_take_the_polars_lane(content):
    assert is_fast(content)
    assert_read_alike(content)


@pytest.mark.parametrize(
    "content",
    [
        "Phone,Notes\n2104611180,José\n".encode("cp1252"),
        "Phone,Notes\r\n2104611180,x\r\n".encode("utf-16"),
        b"Phone,Notes\n2104611180,A\x00nn\n",
        b"Phone,Notes\r2104611180,x\r",
        b"Phone,Notes\n2104611180,x,extra\n",
        b'Phone,Notes\n2104611180, "a"\n',
        b'Phone,Notes\n2104611180,"never closed\n2104611181,x\n',
        b"Phone,Notes\n2104611180," + b"x" * 300_000 + b"\n",
        b"Phone\n\x81\x8d\x8f\x90\n",
        b"Phone,Notes\n2104611180,\xc3\n",
    ],
)
def test_other_files_are_read_by_csv_records(content):
    assert not is_fast(content)
    assert_read_alike(content)


def test_a_bom_in_a_file_read_as_utf8_stays_in_its_first_cell():
    content = codecs.BOM_UTF8 + b"Phone,Notes\n\n2104611180,x\n"
    shape = {"encoding": "utf-8", "delimiter": ",", "width": 2, "batch_size": 10, "skip": 0}

    assert read_by_raw_batches(content, **shape) == read_by_csv_records(content, **shape)


def test_rejected_file_names_the_line_csv_records_names():
    content = b'Phone,Notes\n2104611180,ok\n2104611181,"never closed\n2104611182,x\n'

    with pytest.raises(CsvRejected, match="Line 3: a quoted field is never closed"):
        list(
            raw_batches(io.BytesIO(content), encoding="utf-8", delimiter=",", width=2, batch_size=5)
        )


def test_a_part_polars_reads_otherwise_hands_over_to_csv_records_mid_batch():
    rows = [f"21046111{n:02},note {n}" for n in range(30)]
    rows[20] += ",an extra cell"  # wider than the header: Polars stops there
    content = ("Phone,Notes\n" + "\n".join(rows) + "\n").encode()

    with polars_parts_of(64):
        batches = list(
            raw_batches(io.BytesIO(content), encoding="utf-8", delimiter=",", width=2, batch_size=7)
        )

    assert [len(batch.lines) for batch in batches] == [7, 7, 7, 7, 2]
    assert [line for batch in batches for line in batch.lines] == list(range(2, 32))
    assert batches[2].cells(6) == ["2104611120", "note 20"]
    assert_read_alike(content, reads=((7, 0), (4, 3)))

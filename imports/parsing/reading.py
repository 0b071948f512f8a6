"""Bytes to CSV records: encoding, delimiter, line numbers, and the errors a user can act on.

Files are read as streams, a megabyte at a time, so memory does not grow with the file. The csv
module's field size limit (128 KiB) is kept: a longer field, or a quote that is never closed,
rejects the file with the line it starts on instead of reading on without bound.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
HEAD_CHARS = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


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


def detect_encoding(binary: BinaryIO) -> str:
    """Return 'utf-8-sig' or 'utf-16' for a BOM, else 'utf-8' if every byte decodes, else 'cp1252'.

    Excel on Windows saves "CSV" as cp1252 without a BOM; any byte sequence that is not UTF-8 is
    taken to be that. The stream is left at its start.
    """
    binary.seek(0)
    head = binary.read(4)
    binary.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := binary.read(CHUNK_BYTES):
            if b"\x00" in chunk:
                raise CsvRejected("This is not a CSV file: it holds binary data.")
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    finally:
        binary.seek(0)
    return "utf-8"


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

    def readinto(self, buffer: memoryview) -> int:
        data = self._binary.read(len(buffer))
        buffer[: len(data)] = data
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
    binary: BinaryIO, *, encoding: str, delimiter: str
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, cells) for every non-blank record, header included.

    Raise CsvRejected for malformed CSV or undecodable bytes, naming the line.
    """
    with _text_stream(binary, encoding) as text:
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        next_line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise CsvRejected(_csv_problem(str(error)), line=next_line) from None
            except UnicodeDecodeError:
                raise CsvRejected(
                    f"The file is neither UTF-8 nor Windows-1252 ({encoding} failed).",
                    line=reader.line_num + 1,
                ) from None
            line = next_line
            next_line = reader.line_num + 1
            if any(map(str.strip, cells)):
                yield line, cells


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
    header: list[str] | None = None
    data_rows = 0
    for _line, cells in csv_records(binary, encoding=encoding, delimiter=delimiter):
        if header is None:
            header = cells
        else:
            data_rows += 1
    binary.seek(0)
    if header is None:
        raise CsvRejected("The file has no header row.")
    return CsvShape(encoding=encoding, delimiter=delimiter, header=header, data_rows=data_rows)

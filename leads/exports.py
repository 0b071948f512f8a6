"""CSV export of a tenant's leads: streamed, spreadsheet-safe."""

import csv
import io
import json
import logging
import re
from collections import namedtuple
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.db.models import QuerySet

from leads.models import Lead, LeadSource
from leads.selectors import NO_DISPOSITION
from leads.serializers import phone_for_display

logger = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    ("id", lambda lead: lead.pk),
    ("name", lambda lead: lead.name),
    ("firstName", lambda lead: lead.first_name),
    ("lastName", lambda lead: lead.last_name),
    ("email", lambda lead: lead.email),
    # Stored phones are E.164, but the admin edits raw fields: as stored when not.
    ("phone", lambda lead: phone_for_display(lead.phone)),
    ("street1", lambda lead: lead.street1),
    ("street2", lambda lead: lead.street2),
    ("city", lambda lead: lead.city),
    ("state", lambda lead: lead.state),
    ("zipcode", lambda lead: lead.zipcode),
    ("dob", lambda lead: lead.dob.isoformat() if lead.dob else ""),
    ("gender", lambda lead: lead.gender),
    ("source", lambda lead: lead.source),
    ("status", lambda lead: lead.status),
    ("disposition", lambda lead: lead.disposition),
    ("notes", lambda lead: lead.notes),
    ("nextgenId", lambda lead: lead.nextgen_id),
    ("price", lambda lead: "" if lead.price is None else str(lead.price)),
    ("campaignName", lambda lead: lead.campaign_name),
    ("timeZone", lambda lead: lead.time_zone),
    ("createdAt", lambda lead: lead.created_at.isoformat()),
    ("doNotCall", lambda lead: "true" if lead.do_not_call else "false"),
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST_CHARACTERS = frozenset(FORMULA_PREFIXES)
SOURCE_ABBREVIATIONS: dict[str, str] = {LeadSource.NEXTGEN: "NG", LeadSource.MARKETPLACE: "MP"}
ROWS_PER_CHUNK = 500
# Path separators become dashes; quotes and control characters, which no file name holds, go.
FILENAME_REPLACEMENTS = {
    ord("/"): "-",
    ord("\\"): "-",
    ord('"'): None,
    **{code: None for code in range(32)},
    0x7F: None,
}


def neutralise(value: object) -> str:
    """Return the cell as text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def export_filename(leads: QuerySet[Lead]) -> str:
    dispositions = list(leads.order_by().values_list("disposition", flat=True).distinct()[:2])
    sources = list(leads.order_by().values_list("source", flat=True).distinct()[:2])
    disposition = (dispositions[0] or NO_DISPOSITION) if len(dispositions) == 1 else "Multiple"
    source = SOURCE_ABBREVIATIONS.get(sources[0], "Mixed") if len(sources) == 1 else "Mixed"
    # A disposition name may hold a slash ("Unhealthy/Referred"); it must not become a path.
    disposition = disposition.translate(FILENAME_REPLACEMENTS)
    return f"CrokodialCSV ({disposition}, {source}).csv"


def _drained(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def spreadsheet_csv(
    header: Iterable[str], rows: AsyncIterable[Iterable[object]]
) -> AsyncIterator[str]:
    """Yield a CSV spreadsheets open safely: BOM and header first, then ROWS_PER_CHUNK rows at a
    time (memory stays flat), every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(map(neutralise, header))
    yield "\ufeff" + _drained(buffer)
    count = 0
    async for row in rows:
        writer.writerow(neutralise(cell) for cell in row)
        count += 1
        if count % ROWS_PER_CHUNK == 0:
            yield _drained(buffer)
    if buffer.tell():
        yield _drained(buffer)


def _cell(lead: Any, name: str, value: Callable[[Lead], object]) -> object:
    # Once the answer has started a failure cannot become an error status, only a cut-off
    # file: one value that cannot be written leaves its cell empty instead.
    try:
        return value(lead)
    except Exception:
        logger.exception("export: lead %s column %s left empty", lead.pk, name)
        return ""


# The fields EXPORT_COLUMNS read, fetched as tuples: no model instance per lead, and none of the
# columns no cell shows. A column that reads another field must add it here
# (tests/leads/test_lead_export_api.py compares every column with the model's own values).
ROW_FIELDS = (
    "id", "first_name", "last_name", "email", "phone", "street1", "street2", "city", "state",
    "zipcode", "dob", "gender", "source", "status", "disposition", "notes", "nextgen_id",
    "price", "campaign_name", "time_zone", "created_at", "do_not_call",
)  # fmt: skip
ROWS_PER_FETCH = 2000


# Built from ROW_FIELDS so the query and the tuple never disagree; mypy cannot follow that.
class ExportRow(namedtuple("ExportRow", ROW_FIELDS)):  # type: ignore[misc]
    """A lead as the export reads it: the ROW_FIELDS as attributes, plus `pk` and `name`."""

    __slots__ = ()

    @property
    def pk(self) -> int:
        return self.id  # type: ignore[attr-defined]  # a ROW_FIELDS attribute

    @property
    def name(self) -> str:
        return Lead.name.fget(self)  # type: ignore[attr-defined]  # Lead.name is a property


def _row(lead: ExportRow) -> list[str]:
    try:
        cells = [value(lead) for _, value in EXPORT_COLUMNS]
    except Exception:
        cells = [_cell(lead, name, value) for name, value in EXPORT_COLUMNS]
    # neutralise(), inlined: this runs for every cell of every lead.
    texts = ["" if cell is None else cell if type(cell) is str else str(cell) for cell in cells]
    return ["'" + text if text[:1] in FORMULA_FIRST_CHARACTERS else text for text in texts]


def _csv_chunks_from(rows: Iterator[tuple]) -> list[str]:
    """Format the next ROWS_PER_FETCH rows: one string per ROWS_PER_CHUNK; [] at the end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    chunks = []
    for _ in range(ROWS_PER_FETCH // ROWS_PER_CHUNK):
        batch = [_row(ExportRow._make(values)) for values in islice(rows, ROWS_PER_CHUNK)]
        if not batch:
            break
        writer.writerows(batch)
        chunks.append(_drained(buffer))
    return chunks


# --- PostgreSQL: the CSV written by the database ---------------------------------------------
#
# On PostgreSQL the rows leave the database already as CSV (`COPY (SELECT …) TO STDOUT WITH CSV`):
# each column below is the SQL for what its EXPORT_COLUMNS function writes, neutralised, and
# Python only turns each row's "\n" into the csv module's "\r\n". The bytes are those of the
# Python path (tests/leads/test_desk_at_scale.py compares them on messy values). Empty cells
# go out as NULL: COPY quotes an empty string ("") where the csv module writes nothing.

# What str.strip() strips (Lead.name): every character Python counts as whitespace.
PYTHON_WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
# A tenant with more distinct non-US phones than this exports through the Python path: their
# display form comes from `phonenumbers`, handed to the query as a lookup table.
MAX_FOREIGN_PHONES = 20_000
_FOREIGN_PHONES = object()
_SELECT_ID = re.compile(rf'SELECT "{Lead._meta.db_table}"\."id"(?: AS "id")? FROM ')  # noqa: S608  # noqa: S608
_ORDINAL_ID = re.compile(r"((?:ORDER BY|,) )1(?= ASC| DESC|,|$)")
_NANP_PHONE = r"^\+1[0-9]{10}$"  # leads.normalize._NANP_E164
_SQL_CELLS: dict[str, tuple[str, list[Any]]] = {
    "id": ('"id"::text', []),
    "name": ("""btrim("first_name" || ' ' || "last_name", %s)""", [PYTHON_WHITESPACE]),
    "phone": (
        f"""CASE WHEN "phone" ~ '{_NANP_PHONE}' THEN '(' || substr("phone", 3, 3) || ') '
        || substr("phone", 6, 3) || '-' || substr("phone", 9)
        ELSE coalesce(%s::jsonb ->> "phone", "phone") END""",
        [_FOREIGN_PHONES],
    ),
    "dob": ("""to_char("dob", 'YYYY-MM-DD')""", []),
    "price": ('"price"::text', []),
    "createdAt": (
        """to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN to_char("created_at", 'US') = '000000' THEN ''
        ELSE to_char("created_at", '.US') END || '+00:00'""",
        [],
    ),
    "doNotCall": ("""CASE WHEN "do_not_call" THEN 'true' ELSE 'false' END""", []),
}
_SQL_FIELDS = {
    "firstName": "first_name", "lastName": "last_name", "email": "email", "street1": "street1",
    "street2": "street2", "city": "city", "state": "state", "zipcode": "zipcode",
    "gender": "gender", "source": "source", "status": "status", "disposition": "disposition",
    "notes": "notes", "nextgenId": "nextgen_id", "campaignName": "campaign_name",
    "timeZone": "time_zone",
}  # fmt: skip
# neutralise(): a cell starting like a formula gets a leading quote.
_NEUTRALISED = (
    f"NULLIF(CASE WHEN ascii({{cell}}) IN ({', '.join(str(ord(c)) for c in FORMULA_PREFIXES)})"
    " THEN '''' || {cell} ELSE {cell} END, '')"
)


def _sql_cell(name: str) -> tuple[str, list[Any]]:
    params: list[Any]
    if name in _SQL_FIELDS:
        sql, params = f'"{_SQL_FIELDS[name]}"', []
    else:
        sql, params = _SQL_CELLS[name]
    # Written out three times: a subquery naming it once would run once per cell and row.
    return _NEUTRALISED.format(cell=f"({sql})"), params * 3


def _foreign_phones(leads: QuerySet[Lead]) -> dict[str, str] | None:
    """The display form of each phone among `leads` that is not a US/Canada number, or None
    when there are more than MAX_FOREIGN_PHONES of them."""
    phones = (
        leads.order_by()
        .exclude(phone="")
        .exclude(phone__regex=_NANP_PHONE)
        .values_list("phone", flat=True)
        .distinct()[: MAX_FOREIGN_PHONES + 1]
    )
    found = list(phones)
    if len(found) > MAX_FOREIGN_PHONES:
        return None
    return {phone: phone_for_display(phone) for phone in found}


def copy_statement(leads: QuerySet[Lead], foreign_phones: dict[str, str]) -> tuple[str, list]:
    """Return the `COPY (SELECT …) TO STDOUT` of the export's rows of `leads`, and its
    parameters (bound client-side: COPY takes none)."""
    phones = json.dumps(foreign_phones)
    columns, columns_params = [], []
    for name, _ in EXPORT_COLUMNS:
        sql, params = _sql_cell(name)
        columns.append(sql)
        columns_params += [phones if param is _FOREIGN_PHONES else param for param in params]
    query = leads.values_list("id")
    select, select_params = query.query.get_compiler(using=query.db).as_sql()
    # The filters and the order are Django's; only what is selected changes.
    head = _SELECT_ID.match(select)
    if head is None:
        raise ValueError(f"unexpected export query: {select[:100]}")
    cells = ", ".join(columns)
    # Django may order by the id as "1", the first selected column: a cell once replaced.
    rest = _ORDINAL_ID.sub(rf'\1"{Lead._meta.db_table}"."id"', select[head.end() :])
    statement = f"COPY (SELECT {cells} FROM {rest}) TO STDOUT WITH (FORMAT csv)"  # noqa: S608
    return statement, [*columns_params, *select_params]


def _copied_rows(leads: QuerySet[Lead], foreign_phones: dict[str, str]) -> Iterator[bytes]:
    statement, params = copy_statement(leads, foreign_phones)
    with connections[leads.db].cursor() as cursor, cursor.copy(statement, params) as copy:
        for row in copy:
            yield bytes(row[:-1]) + b"\r\n"


def _copied_chunks_from(rows: Iterator[bytes]) -> list[bytes]:
    """The next ROWS_PER_FETCH rows: one chunk per ROWS_PER_CHUNK; [] at the end."""
    chunks = []
    for _ in range(ROWS_PER_FETCH // ROWS_PER_CHUNK):
        chunk = b"".join(islice(rows, ROWS_PER_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
    return chunks


def csv_chunks(leads: QuerySet[Lead]) -> AsyncIterator[str | bytes]:
    """Stream the export of `leads`.

    Rows come ROWS_PER_FETCH at a time — on PostgreSQL written as CSV by the database through
    COPY, elsewhere through a server-side cursor and Python's csv module — in the request's
    database thread, so memory stays flat and the event loop stays free.
    """

    async def chunks() -> AsyncIterator[str | bytes]:
        buffer = io.StringIO()
        csv.writer(buffer).writerow(neutralise(name) for name, _ in EXPORT_COLUMNS)
        yield "\ufeff" + _drained(buffer)
        rows: Any = None
        format_next: Callable[[Any], list] = _csv_chunks_from

        def start() -> Iterator:
            nonlocal format_next
            if connections[leads.db].vendor == "postgresql":
                foreign_phones = _foreign_phones(leads)
                if foreign_phones is not None:
                    format_next = _copied_chunks_from
                    return _copied_rows(leads, foreign_phones)
            return leads.values_list(*ROW_FIELDS).iterator(chunk_size=ROWS_PER_FETCH)

        def fetch() -> list:
            nonlocal rows
            if rows is None:
                rows = start()
            return format_next(rows)

        try:
            while formatted := await sync_to_async(fetch)():
                for chunk in formatted:
                    yield chunk
        finally:
            if rows is not None:
                # A client that left mid-file: end the COPY (or cursor) in the thread it runs in.
                await sync_to_async(rows.close)()

    return chunks()

"""CSV export of a tenant's leads: streamed, spreadsheet-safe."""

import csv
import io
import logging
from collections import namedtuple
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from asgiref.sync import sync_to_async
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


def csv_chunks(leads: QuerySet[Lead]) -> AsyncIterator[str]:
    """Stream the export of `leads`.

    Rows come through a server-side cursor ROWS_PER_FETCH at a time and are formatted in the
    request's database thread, so memory stays flat and the event loop stays free.
    """

    async def chunks() -> AsyncIterator[str]:
        buffer = io.StringIO()
        csv.writer(buffer).writerow(neutralise(name) for name, _ in EXPORT_COLUMNS)
        yield "\ufeff" + _drained(buffer)
        rows: Any = None

        def fetch() -> list[str]:
            nonlocal rows
            if rows is None:
                rows = leads.values_list(*ROW_FIELDS).iterator(chunk_size=ROWS_PER_FETCH)
            return _csv_chunks_from(rows)

        while formatted := await sync_to_async(fetch)():
            for chunk in formatted:
                yield chunk

    return chunks()

"""Many leads at once, by the one merge rule of `leads.services.lead_merge`.

`lead_bulk_upsert` does for a batch what `lead_upsert` does for one lead, in a few queries, in
two steps with typed results:

- `lead_bulk_plan` reads the tenant's leads that share a NextGen id, phone or email with the
  batch and decides what each row becomes: a plain new lead (no key of it held by a stored lead
  or another row: `PlainLeads`, kept as columns), or a merging row, merged in Python in file
  order by `lead_merge` into a `MergedLead` (stored, or created by an earlier row). Nothing is
  written.
- `lead_bulk_write` writes the plan: the changed stored leads, then the new leads in row order
  (COPY on PostgreSQL, plain leads from their columns a column at a time).

A row the database refuses (a value no normaliser bounded: a merged price past its column, say)
fails alone: the batch is split until the refused rows are found, and the others are written.

Successive batches of one import share a `LeadKeys`: when the tenant had no leads as the import
began, only the keys the import itself has written can be stored, so rows with none of those
skip the lookup and go straight to COPY. An import formats the plain leads' COPY lines ahead,
in its reading thread (`lead_bulk_prepare` → `PreparedLeads`).
"""

import functools
import heapq
import json
import re
from collections import Counter
from collections.abc import Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice, repeat
from operator import itemgetter
from typing import Any, TypeVar

import polars as pl
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Field
from django.utils import timezone

from leads.dnc import dnc_listed_phones, lead_writes_lock
from leads.models import Lead, LeadEvent
from leads.normalize import time_zone_for
from leads.services import MATCH_FIELDS, PREMIUM_PRODUCT, is_empty, lead_merge, lead_upsert
from leads.sql import TEXTS, texts_parameter
from leads.timeline import EventKind, lead_events_record_bulk, vendor_fields

PHONE_KEY = MATCH_FIELDS.index("phone")
IMPORTED = "imported"
UPDATED = "updated"
SKIPPED = "skipped"
FAILED = "failed"

# SQLite counts bound parameters per statement; PostgreSQL takes far more.
SQLITE_LOOKUP_CHUNK = 900
ORM_WRITE_BATCH = 500
ESTIMATED_ROWS = re.compile(r"rows=(\d+)")
STATISTICS_TOLERANCE = 4
# Set by the database or by the write itself, never by a merge.
NOT_MERGED = frozenset({"id", "tenant_id", "created_at", "updated_at"})
# What COPY's text format escapes inside a value; NUL, which PostgreSQL cannot store, is dropped.
COPY_SPECIAL = re.compile(r"[\\\t\n\r\x00]")
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": None})
JSON_NUL = "\\u0000"
COPY_NULL = "\\N"
REMEMBERED_TEXTS = 20_000
T = TypeVar("T")


class LeadColumns:
    """Incoming leads held column by column: `columns[name][i]` is lead i's value of field `name`.

    None, "" and an empty dict mean the lead brings no value for that field. Leads converted
    from a file are held in a Polars frame (`frame`, one typed column per field, vendor data
    as JSON text): its columns become Python values only when asked for, and the plain new
    leads among them go from the frame straight to COPY (`lead_bulk_prepare`).
    """

    __slots__ = ("_columns", "count", "frame")

    def __init__(
        self, columns: dict[str, list[Any]], count: int, frame: "pl.DataFrame | None" = None
    ) -> None:
        self._columns: dict[str, list[Any]] | None = columns
        self.count = count
        self.frame = frame

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> "LeadColumns":
        names = dict.fromkeys(name for row in rows for name in row)
        return cls({name: [row.get(name) for row in rows] for name in names}, len(rows))

    @classmethod
    def from_frame(cls, frame: "pl.DataFrame") -> "LeadColumns":
        leads = cls({}, frame.height, frame)
        leads._columns = None
        return leads

    @property
    def columns(self) -> dict[str, list[Any]]:
        if self._columns is None:
            assert self.frame is not None
            self._columns = {name: self.column(name) for name in self.frame.columns}
        return self._columns

    def column(self, name: str) -> list[Any]:
        if self._columns is not None or self.frame is None:
            return self.columns.get(name) or [None] * self.count
        if name not in self.frame.columns:
            return [None] * self.count
        values = self.frame[name].to_list()
        if name == "vendor_data":
            return [None if text is None else json.loads(text) for text in values]
        return values

    def row(self, index: int) -> dict[str, Any]:
        """Return lead `index` as a dict of its non-empty values."""
        return {
            name: value
            for name, values in self.columns.items()
            if not is_empty(value := values[index])
        }

    def part(self, start: int, stop: int) -> "LeadColumns":
        """Return the leads from `start` to `stop`."""
        if self._columns is None and self.frame is not None:
            return LeadColumns.from_frame(self.frame.slice(start, stop - start))
        return LeadColumns(
            {name: values[start:stop] for name, values in self.columns.items()}, stop - start
        )

    def pick(self, positions: list[int]) -> "LeadColumns":
        """Return the leads at `positions`, in that order."""
        if self._columns is None and self.frame is not None:
            return LeadColumns.from_frame(self.frame[positions])
        return LeadColumns(
            {
                name: list(map(values.__getitem__, positions))
                for name, values in self.columns.items()
            },
            len(positions),
        )


@dataclass(frozen=True)
class LeadOwner:
    """Whose the leads a batch creates are, and where they came from when a row does not say."""

    tenant_id: int
    assigned_to_id: int | None
    source: str


@dataclass
class PreparedLeads:
    """Leads, with the COPY lines (but the time columns) `lead_bulk_upsert` writes for the plain
    new ones among them when they belong to `owner`: made ahead by `lead_bulk_prepare`.

    `copy_lines` is None where there is no COPY (SQLite) or nothing was prepared.
    """

    leads: LeadColumns
    owner: LeadOwner
    copy_lines: list[str] | None = None

    @property
    def count(self) -> int:
        return self.leads.count

    def part(self, start: int, stop: int) -> "PreparedLeads":
        lines = None if self.copy_lines is None else self.copy_lines[start:stop]
        return PreparedLeads(self.leads.part(start, stop), self.owner, lines)


@dataclass
class ReplacedValues:
    """What a write did to a stored lead: the fields it replaced, their old and new values, and
    the `updated_at` it left (the lead's version). `old` is None when the write could not see it."""

    lead_id: int
    written_at: datetime
    old: dict[str, Any] | None
    new: dict[str, Any]


@dataclass
class BulkUpsertResult:
    """What became of each incoming row, in order: imported, updated, skipped or failed."""

    outcomes: list[str] = field(default_factory=list)
    # position of each failed row → why the database refused it
    refused: dict[int, str] = field(default_factory=dict)
    # rows whose lead is on the tenant's do-not-call list
    do_not_call: int = 0
    # With `record=True`: the leads created, and what was replaced on the stored ones.
    created_ids: list[int] = field(default_factory=list)
    replaced: list[ReplacedValues] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


class LeadKeys:
    """The keys a tenant's stored leads may hold, remembered across the batches of one import.

    If the tenant had leads when the import began, any key may be stored and every row is looked
    up. Otherwise only keys written by earlier batches can be. A lead stored meanwhile by another
    door (the webhook) is still found: its unique key stops the batch's COPY, and the batch is
    redone row by row (`lead_bulk_upsert`).

    Keys are remembered by their 64-bit hash in a Polars column, 8 bytes a key (a Python set of
    the strings, or even of their hashes, costs ten times that at 150,000 rows): two keys sharing
    a hash only cost a needless lookup.
    """

    def __init__(self, *, tenant_had_leads: bool) -> None:
        self.tenant_had_leads = tenant_had_leads
        self._written = {name: _NO_HASHES for name in MATCH_FIELDS}

    @classmethod
    def for_tenant(cls, tenant_id: int) -> "LeadKeys":
        return cls(tenant_had_leads=Lead.objects.filter(tenant_id=tenant_id).exists())

    def forget(self) -> None:
        """Look every row up from now on, as if the tenant had leads when the import began."""
        self.tenant_had_leads = True
        self._written = {name: _NO_HASHES for name in MATCH_FIELDS}

    def to_look_up(self, key_columns: Mapping[str, list[Any]]) -> dict[str, set[str]]:
        """Return, per key field, the batch's keys that a stored lead may hold."""
        present = _present_keys(key_columns)
        if self.tenant_had_leads:
            return present
        looked_up: dict[str, set[str]] = {}
        for name in MATCH_FIELDS:
            keys = pl.Series(list(present[name]), dtype=pl.String)
            written = self._written[name]
            if not len(keys) or not len(written):
                looked_up[name] = set()
                continue
            maybe = _key_hashes(keys).is_in(written.implode())
            looked_up[name] = set(keys.filter(maybe).to_list())
        return looked_up

    def remember(self, key_columns: Mapping[str, list[Any]]) -> None:
        """Note the keys a batch brought: the tenant's leads may hold them from now on."""
        if self.tenant_had_leads:
            return
        for name, keys in _present_keys(key_columns).items():
            if keys:
                hashes = _key_hashes(pl.Series(list(keys), dtype=pl.String))
                self._written[name] = pl.concat([self._written[name], hashes], rechunk=True)


_NO_HASHES = pl.Series(dtype=pl.UInt64)


def _key_hashes(keys: pl.Series) -> pl.Series:
    return keys.hash(seed=0)


def _present_keys(key_columns: Mapping[str, list[Any]]) -> dict[str, set[str]]:
    return {name: set(keys) - {None, ""} for name, keys in key_columns.items()}


class LeadChangedMeanwhile(IntegrityError):
    """A lead the batch read was changed or deleted by another writer before the batch wrote."""


@dataclass
class MergedLead:
    """A lead as the batch's merging rows leave it: stored (`pk`) or created by row `position`."""

    values: dict[str, Any]
    pk: int | None = None
    position: int = 0
    changed: set[str] = field(default_factory=set)
    # The stored values the batch replaces (stored leads only), for undo.
    old: dict[str, Any] = field(default_factory=dict)

    @property
    def stored_pk(self) -> int:
        """The pk of a stored lead (every lead the batch changes is one)."""
        if self.pk is None:
            raise ValueError(f"the lead created by row {self.position} is not stored yet")
        return self.pk


@dataclass
class PlainLeads:
    """New leads that no stored lead and no other row shares a key with: they skip the merge
    and are written from their columns."""

    batch: LeadColumns  # the whole batch: these leads are the rows at `positions`
    positions: list[int]
    copy_lines: list[str] | None  # theirs, made ahead for the batch's owner, else None
    listed: set[int] = field(default_factory=set)  # indexes of those on the do-not-call list

    def leads(self) -> LeadColumns:
        """Their columns (copied, unless every row of the batch is plain)."""
        if len(self.positions) == self.batch.count:
            return self.batch
        return self.batch.pick(self.positions)


@dataclass
class LeadBatchPlan:
    """What a batch will write (`lead_bulk_plan`), before anything is written (`lead_bulk_write`).

    Rows are either plain new leads or merging rows; a merging row creates a lead, changes a
    lead (stored or created earlier in the batch) or changes nothing.
    """

    owner: LeadOwner
    key_columns: dict[str, list[Any]]
    outcomes: list[str]  # per row, in order: imported, updated or skipped
    do_not_call: int  # rows whose lead is on the do-not-call list
    plain: PlainLeads
    created: list[MergedLead]  # new leads of merging rows, in row order
    changed: list[MergedLead]  # stored leads the merging rows change, in pk order


def lead_bulk_upsert(
    *,
    tenant_id: int,
    rows: LeadColumns | PreparedLeads | Sequence[Mapping[str, Any]],
    source: str,
    assigned_to_id: int | None = None,
    keys: LeadKeys | None = None,
    record: bool = False,
) -> BulkUpsertResult:
    """Store each of `rows` (normalised model field values) as a new lead or merge it into a match.

    Rows are taken in order and match, within the tenant, by NextGen id, then phone, then email,
    exactly as `lead_upsert` does, including leads created by earlier rows of the same batch.
    `source` and `assigned_to_id` apply to the leads this creates only. Every row needs a phone
    or an email. If a concurrent writer takes one of the batch's keys first, the batch is redone
    one row at a time through `lead_upsert`, which settles such races. A row the database
    refuses (DataError) fails alone, with the database's reason, and the others are written.
    `keys`, shared by the batches of one import, spares the lookup of rows no stored lead can
    match. With `record`, the result also names the leads created and the values replaced
    (an import keeps them to be undone, docs/imports.md).
    """
    owner = LeadOwner(tenant_id, assigned_to_id, source)
    if isinstance(rows, PreparedLeads):
        batch = rows if rows.owner == owner else PreparedLeads(rows.leads, owner)
    elif isinstance(rows, LeadColumns):
        batch = PreparedLeads(rows, owner)
    else:
        batch = PreparedLeads(LeadColumns.from_rows(rows), owner)
    leads = batch.leads
    if not all(map(_has_phone_or_email, leads.column("phone"), leads.column("email"))):
        raise ValueError("every row needs a phone or an email")
    if not leads.count:
        return BulkUpsertResult()
    return _write_or_split(batch, keys=keys, record=record)


def _write_or_split(
    batch: PreparedLeads, *, keys: LeadKeys | None, record: bool = False
) -> BulkUpsertResult:
    """Write `batch` in a savepoint; if the database refuses a value, write each half the same
    way, in order, down to the single rows it refuses."""
    try:
        with transaction.atomic():
            plan = lead_bulk_plan(batch, keys=keys)
            result = lead_bulk_write(plan, record=record)
            if keys is not None:
                keys.remember(plan.key_columns)
            return result
    except DataError as error:
        if batch.count == 1:
            return BulkUpsertResult(outcomes=[FAILED], refused={0: refusal(error)})
    except IntegrityError:
        result = _upsert_each(batch.leads, owner=batch.owner, record=record)
        if keys is not None:
            keys.forget()  # another writer is adding leads: look every row up from now on
        return result
    # Rows merge in file order, so the halves are written in order: the second half finds the
    # leads the first one stored, as the whole batch would have.
    middle = batch.count // 2
    first = _write_or_split(batch.part(0, middle), keys=keys, record=record)
    second = _write_or_split(batch.part(middle, batch.count), keys=keys, record=record)
    first.outcomes += second.outcomes
    first.do_not_call += second.do_not_call
    first.created_ids += second.created_ids
    first.replaced += second.replaced
    first.refused.update({middle + position: why for position, why in second.refused.items()})
    return first


def refusal(error: Exception) -> str:
    """The database's reason for refusing a row, on one line."""
    reason = " ".join(str(error).split()) or type(error).__name__
    return f"The database refused this row: {reason}"


def _has_phone_or_email(phone: str | None, email: str | None) -> bool:
    return bool(phone or email)


class _KeyIndex:
    """Which lead of the batch holds each key (NextGen id, phone, email): stored or merged."""

    def __init__(self) -> None:
        self._held: dict[str, dict[str, MergedLead]] = {name: {} for name in MATCH_FIELDS}

    def keys(self, name: str) -> KeysView[str]:
        return self._held[name].keys()

    def add(self, lead: MergedLead) -> None:
        for name in MATCH_FIELDS:
            if key := lead.values.get(name):
                self._held[name][key] = lead

    def match(self, incoming: Mapping[str, Any]) -> MergedLead | None:
        """The lead `incoming` merges into: by NextGen id, then phone, then email."""
        for name in MATCH_FIELDS:
            key = incoming.get(name)
            if key and (lead := self._held[name].get(key)) is not None:
                return lead
        return None

    def without_taken_keys(self, changes: dict[str, Any], lead: MergedLead) -> dict[str, Any]:
        """Drop from `changes` a key another lead holds (as leads.services._without_taken_keys)."""
        for name in MATCH_FIELDS:
            if name in changes:
                holder = self._held[name].get(changes[name])
                if holder is not None and holder is not lead:
                    del changes[name]
        return changes

    def move(self, lead: MergedLead, changes: Mapping[str, Any]) -> None:
        """Note that `lead` now holds the keys in `changes` instead of its old ones."""
        for name in MATCH_FIELDS:
            if name in changes:
                old_key = lead.values.get(name)
                if old_key and self._held[name].get(old_key) is lead:
                    del self._held[name][old_key]
                self._held[name][changes[name]] = lead


def lead_bulk_plan(batch: PreparedLeads, *, keys: LeadKeys | None = None) -> LeadBatchPlan:
    """Decide what each row of `batch` becomes, reading the tenant's matching leads; write nothing.

    The do-not-call list is read under the lock its writers wait for (leads.dnc), so call this
    in the transaction that writes the plan: a number listed meanwhile is either seen here or
    flags what the write stores.
    """
    rows, owner = batch.leads, batch.owner
    key_columns = {name: rows.column(name) for name in MATCH_FIELDS}
    lead_writes_lock()
    listed = dnc_listed_phones(tenant_id=owner.tenant_id, phones=key_columns["phone"])
    index = _KeyIndex()
    looked_up = keys.to_look_up(key_columns) if keys else _present_keys(key_columns)
    stored = _stored_leads(owner.tenant_id, looked_up, index)
    # A plain row is a new lead that no other row and no stored lead shares a key with.
    shared = _shared_keys(key_columns, index)
    outcomes = [IMPORTED] * rows.count
    do_not_call = 0
    plain_positions: list[int] = []
    plain_listed: set[int] = set()
    merging: list[int] = []
    for position, row_keys in enumerate(zip(*key_columns.values(), strict=True)):
        if any(key in held for key, held in zip(row_keys, shared, strict=True)):
            merging.append(position)
            continue
        if listed and row_keys[PHONE_KEY] in listed:
            plain_listed.add(len(plain_positions))
            do_not_call += 1
        plain_positions.append(position)
    # Plain rows share no key with any other: the merging rows can go after them, in order.
    # Only they become dicts.
    merging_rows = rows.pick(merging) if len(merging) != rows.count else rows
    created: list[MergedLead] = []
    for at, position in enumerate(merging):
        incoming = merging_rows.row(at)
        lead = index.match(incoming)
        if lead is None:
            lead = MergedLead(lead_merge(None, incoming), position=position)
            lead.values["do_not_call"] = lead.values.get("phone") in listed
            created.append(lead)
            index.add(lead)
            do_not_call += lead.values["do_not_call"]
            continue
        changes = index.without_taken_keys(lead_merge(lead.values, incoming), lead)
        if changes and "phone" in changes:
            changes["do_not_call"] = changes["phone"] in listed
        if changes:
            index.move(lead, changes)
            if lead.pk is not None:
                for name in changes.keys() - lead.old.keys():
                    lead.old[name] = lead.values.get(name)
            lead.values.update(changes)
            lead.changed.update(changes)
        outcomes[position] = UPDATED if changes else SKIPPED
        do_not_call += bool(lead.values.get("do_not_call"))

    changed = [lead for lead in stored if lead.changed]
    _settle_time_zones(changed, created, owner)
    lines = batch.copy_lines
    if lines is not None and len(plain_positions) != rows.count:
        lines = list(map(lines.__getitem__, plain_positions))
    plain = PlainLeads(rows, plain_positions, lines, plain_listed)
    return LeadBatchPlan(
        owner=owner,
        key_columns=key_columns,
        outcomes=outcomes,
        do_not_call=do_not_call,
        plain=plain,
        created=created,
        changed=changed,
    )


def _stored_leads(
    tenant_id: int, looked_up: Mapping[str, set[str]], index: _KeyIndex
) -> list[MergedLead]:
    """The tenant's leads holding any of the keys `looked_up`, each added to `index`."""
    stored: list[MergedLead] = []
    if any(looked_up.values()):
        for values in _existing_matches(tenant_id, looked_up):
            lead = MergedLead(values, pk=values["id"])
            stored.append(lead)
            index.add(lead)
    return stored


def _shared_keys(key_columns: Mapping[str, list[str]], index: _KeyIndex) -> list[set[str]]:
    """Per match field, the keys more than one row holds or a stored lead holds."""
    return [
        {key for key, seen in Counter(key_columns[name]).items() if seen > 1 and key}
        | index.keys(name)
        for name in MATCH_FIELDS
    ]


def _settle_time_zones(
    changed: list[MergedLead], created: list[MergedLead], owner: LeadOwner
) -> None:
    """Set the time zone of the changed leads whose state or phone changed, and of the created
    ones, which also get their owner."""
    for lead in changed:
        if "state" in lead.changed or "phone" in lead.changed:
            zone = time_zone_for(lead.values["state"], lead.values["phone"])
            if zone != lead.values["time_zone"]:
                lead.old.setdefault("time_zone", lead.values["time_zone"])
                lead.values["time_zone"] = zone
    for lead in created:
        values = lead.values
        values["time_zone"] = time_zone_for(values.get("state", ""), values.get("phone", ""))
        values.update(tenant_id=owner.tenant_id, assigned_to_id=owner.assigned_to_id)
        values.setdefault("source", owner.source)


def lead_bulk_write(plan: LeadBatchPlan, *, record: bool = False) -> BulkUpsertResult:
    """Write `plan`: the changed leads, then the new ones in row order. With `record`, name the
    leads created and the values replaced."""
    now = timezone.now()
    writer = _postgres_writer() if connection.vendor == "postgresql" else _OrmWriter()
    # Updates first: a lead may give up a phone or email that a new lead of this batch takes.
    if plan.changed:
        writer.update(plan.changed, now=now)
        # The vendor updates go on the leads' timelines: one insert for the batch. Leads that
        # changed the same fields share one `data` (encoded once).
        said: dict[frozenset[str], dict[str, Any]] = {}
        lead_events_record_bulk(
            LeadEvent(
                tenant_id=plan.owner.tenant_id,
                lead_id=lead.stored_pk,
                kind=EventKind.VENDOR_UPDATE,
                at=now,
                data=said.get(fields)
                or said.setdefault(
                    fields, {"door": plan.owner.source, "fields": vendor_fields(fields)}
                ),
            )
            for lead in plan.changed
            for fields in [frozenset(lead.changed)]
        )
    created = bool(plan.created or plan.plain.positions)
    if created:
        writer.insert(plan, now=now)
    result = BulkUpsertResult(outcomes=plan.outcomes, do_not_call=plan.do_not_call)
    if record:
        if created:
            # Every lead this batch created carries its `now` as created_at: found through the
            # tenant's created_at index.
            result.created_ids = list(
                Lead.objects.filter(tenant_id=plan.owner.tenant_id, created_at=now).values_list(
                    "id", flat=True
                )
            )
        result.replaced = [
            ReplacedValues(
                lead_id=lead.pk,
                written_at=now,
                old=lead.old,
                new={name: lead.values.get(name) for name in lead.old},
            )
            for lead in plan.changed
            if lead.pk is not None
        ]
    return result


def _in_row_order(plain: Iterable[tuple[int, T]], created: Iterable[tuple[int, T]]) -> list[T]:
    """Interleave what is written for plain and for merged new leads by the row of each."""
    return [item for _, item in heapq.merge(plain, created, key=itemgetter(0))]


def _as_new_leads(rows: LeadColumns, owner: LeadOwner) -> LeadColumns:
    """All `rows` as new leads of `owner`, with what a write adds (time zone, source, …) but
    the time: what a plain row is stored as.

    Built a column at a time, which costs far less than row by row, even when most rows end up
    merged instead.
    """
    columns = dict(rows.columns)
    columns["time_zone"] = list(map(time_zone_for, rows.column("state"), rows.column("phone")))
    if "product" in columns and "price" in columns:
        columns["premium_price"] = [
            price if product == PREMIUM_PRODUCT and price is not None else premium
            for product, price, premium in zip(
                columns["product"], columns["price"], rows.column("premium_price"), strict=True
            )
        ]
    columns["source"] = [value or owner.source for value in rows.column("source")]
    columns["tenant_id"] = [owner.tenant_id] * rows.count
    columns["assigned_to_id"] = [owner.assigned_to_id] * rows.count
    return LeadColumns(columns, rows.count)


def lead_bulk_prepare(
    rows: LeadColumns, *, tenant_id: int, source: str, assigned_to_id: int | None = None
) -> PreparedLeads:
    """Format now what `lead_bulk_upsert` with the same arguments would write for new leads.

    The upsert has to wait for the database; an import calls this in its parsing thread, so
    the upsert has less to do. Only PostgreSQL's COPY lines are prepared.
    """
    owner = LeadOwner(tenant_id, assigned_to_id, source)
    if connection.vendor != "postgresql":
        return PreparedLeads(rows, owner)
    writer = _postgres_writer()
    if rows.frame is not None:
        return PreparedLeads(rows, owner, writer.copy_frame_lines(rows.frame, owner))
    return PreparedLeads(rows, owner, writer.copy_lines(_as_new_leads(rows, owner)))


def lead_statistics_refresh(*, tenant_id: int, known_leads: int) -> None:
    """Have PostgreSQL re-count the tenant if it believes far fewer than `known_leads` exist.

    While an import grows a tenant from nothing, the planner still believes the tenant is empty
    and finds keys by reading every lead of the tenant instead of probing the unique indexes:
    each batch would cost as much as the tenant is large. Sampling one column is cheap and
    needed at most a few times per import.
    """
    if connection.vendor != "postgresql":
        return
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT 1 FROM {table} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
        plan = "\n".join(line for (line,) in cursor.fetchall())
        estimate = int(match[1]) if (match := ESTIMATED_ROWS.search(plan)) else 0
        if estimate * STATISTICS_TOLERANCE < known_leads:
            cursor.execute(f"ANALYZE {table} (tenant_id)")


def _existing_matches(tenant_id: int, keys: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    """Return, as field dicts in pk order, the tenant's leads holding any of `keys` (per field)."""
    ordered = {name: sorted(values) for name, values in keys.items()}
    if connection.vendor == "postgresql":
        found = _postgres_matches(tenant_id, ordered)
    else:
        found = _orm_matches(tenant_id, ordered)
    return sorted(found.values(), key=lambda values: values["id"])


def _orm_matches(tenant_id: int, keys: dict[str, list[str]]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for name, values in keys.items():
        for start in range(0, len(values), SQLITE_LOOKUP_CHUNK):
            chunk = values[start : start + SQLITE_LOOKUP_CHUNK]
            leads = (
                Lead.objects.select_for_update()
                .filter(**{f"{name}__in": chunk}, tenant_id=tenant_id)
                .exclude(**{name: ""})
                .values()
            )
            for lead in leads:
                found.setdefault(lead["id"], dict(lead))
    return found


def _postgres_matches(tenant_id: int, keys: dict[str, list[str]]) -> dict[int, dict[str, Any]]:
    # Not locked (FOR UPDATE would write every matched row, most of which stay as they are):
    # the write checks instead that each changed lead is still as read (_PostgresWriter.update).
    attnames = [f.attname for f in Lead._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column_of(f)) for f in Lead._meta.concrete_fields)
    # `<> ''` repeats each unique index's condition, so the planner may use those indexes.
    conditions = " OR ".join(
        f"({quote(column)} = ANY({TEXTS}) AND {quote(column)} <> '')"
        for column in map(_lead_column, keys)
    )
    query = (
        f"SELECT {columns} FROM {Lead._meta.db_table} "  # noqa: S608 - names are ours
        f"WHERE tenant_id = %s AND ({conditions})"
    )
    found: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, [tenant_id, *map(texts_parameter, keys.values())])
        for row in cursor.fetchall():
            values = dict(zip(attnames, row, strict=True))
            if isinstance(values["vendor_data"], str):
                values["vendor_data"] = json.loads(values["vendor_data"])
            found[values["id"]] = values
    return found


def _upsert_each(rows: LeadColumns, *, owner: LeadOwner, record: bool = False) -> BulkUpsertResult:
    result = BulkUpsertResult()
    for position, incoming in enumerate(map(rows.row, range(rows.count))):
        try:
            with transaction.atomic():
                upserted = lead_upsert(tenant_id=owner.tenant_id, incoming=incoming)
                if upserted.is_new:
                    Lead.objects.filter(pk=upserted.lead.pk).update(
                        source=incoming.get("source") or owner.source,
                        assigned_to_id=owner.assigned_to_id,
                    )
        except (DataError, IntegrityError) as error:
            result.outcomes.append(FAILED)
            result.refused[position] = refusal(error)
            continue
        result.do_not_call += upserted.lead.do_not_call
        if upserted.is_new:
            result.outcomes.append(IMPORTED)
            if record:
                result.created_ids.append(upserted.lead.pk)
        else:
            result.outcomes.append(UPDATED if upserted.changed_fields else SKIPPED)
            if record and upserted.changed_fields:
                # The merge ran one lead at a time and kept no old values: undo keeps this lead.
                lead = upserted.lead
                result.replaced.append(
                    ReplacedValues(
                        lead_id=lead.pk,
                        written_at=lead.updated_at,
                        old=None,
                        new={name: getattr(lead, name) for name in upserted.changed_fields},
                    )
                )
    return result


def _field_defaults() -> list[tuple[str, str, Any]]:
    """Return (attname, column, default) for every stored column but the primary key."""
    columns = []
    for model_field in Lead._meta.concrete_fields:
        if model_field.primary_key:
            continue
        default = model_field.get_default() if model_field.has_default() else None
        if default is None and not model_field.null:
            default = ""
        columns.append((model_field.attname, _column_of(model_field), default))
    return columns


def _column_of(model_field: "Field[Any, Any]") -> str:
    """A concrete field's database column (Django leaves `column` None on the others only)."""
    assert model_field.column is not None, model_field
    return model_field.column


def _lead_column(name: str) -> str:
    """The database column of Lead's concrete field `name`."""
    model_field = Lead._meta.get_field(name)
    assert isinstance(model_field, Field), model_field
    return _column_of(model_field)


class _OrmWriter:
    """Portable writes through the ORM (SQLite, the embedded default)."""

    def insert(self, plan: LeadBatchPlan, *, now: datetime) -> None:
        stamp = {"created_at": now, "updated_at": now}
        plain = _as_new_leads(plan.plain.leads(), plan.owner)
        plain_leads = [Lead(**(plain.row(index) | stamp)) for index in range(plain.count)]
        for index in plan.plain.listed:
            plain_leads[index].do_not_call = True
        leads = _in_row_order(
            zip(plan.plain.positions, plain_leads, strict=True),
            ((lead.position, Lead(**(lead.values | stamp))) for lead in plan.created),
        )
        Lead.objects.bulk_create(leads, batch_size=ORM_WRITE_BATCH)

    def update(self, leads: list[MergedLead], *, now: datetime) -> None:
        names = [
            f.name
            for f in Lead._meta.concrete_fields
            if f.attname not in NOT_MERGED and not f.is_relation
        ]
        changed = [Lead(**(lead.values | {"updated_at": now})) for lead in leads]
        Lead.objects.bulk_update(changed, [*names, "updated_at"], batch_size=ORM_WRITE_BATCH)


class _PostgresWriter:
    """COPY new leads straight into the table; apply changes through a COPY-filled temp table.

    COPY's text format is written here rather than by psycopg's `write_row`, so that the plain
    new leads of a batch become lines a column at a time (`copy_lines`), even ahead of the
    write (`lead_bulk_prepare`): the time columns come last, to be added when writing.
    """

    table = Lead._meta.db_table
    time_columns = ("created_at", "updated_at")

    def __init__(self) -> None:
        columns = _field_defaults()
        self.columns = [c for c in columns if c[0] not in self.time_columns] + [
            c for c in columns if c[0] in self.time_columns
        ]
        self.attnames = [attname for attname, _, _ in self.columns]
        self.defaults = [default for _, _, default in self.columns]
        self.absent = [copy_text(default) for default in self.defaults]
        self.kinds = [_copy_kind(Lead._meta.get_field(attname)) for attname in self.attnames]
        self.do_not_call_index = self.attnames.index("do_not_call")
        self._remembered: dict[str, dict[Any, str]] = {}

    def insert(self, plan: LeadBatchPlan, *, now: datetime) -> None:
        plain = plan.plain
        plain_lines = plain.copy_lines
        if plain_lines is None:
            plain_lines = self.copy_lines(_as_new_leads(plain.leads(), plan.owner))
        time = f"\t{copy_text(now)}\t{copy_text(now)}"
        # Plain lines are made ahead, unflagged: flag the few listed ones.
        plain_lines = (
            [
                (self._flagged(line) if index in plain.listed else line) + time
                for index, line in enumerate(plain_lines)
            ]
            if plain.listed
            else [line + time for line in plain_lines]
        )
        stamp = {"created_at": now, "updated_at": now}
        lines = _in_row_order(
            zip(plain.positions, plain_lines, strict=True),
            ((lead.position, self.copy_line(lead.values | stamp)) for lead in plan.created),
        )
        with connection.cursor() as cursor:
            self._copy(cursor, self.table, self._column_names(), lines)

    def update(self, leads: list[MergedLead], *, now: datetime) -> None:
        quote = connection.ops.quote_name
        assignments = ", ".join(
            f"{quote(column)} = changes.{quote(column)}"
            for attname, column, _ in self.columns
            if attname not in NOT_MERGED or attname == "updated_at"
        )
        # Each change names the lead it applies to and the version of it it was merged from.
        stamp = {"updated_at": now}
        lines = [
            f"{self.copy_line(lead.values | stamp)}\t{lead.pk}\t"
            f"{copy_text(lead.values['updated_at'])}"
            for lead in leads
        ]
        with connection.cursor() as cursor:
            # Inside an outer transaction an earlier batch's table may still be there.
            cursor.execute("DROP TABLE IF EXISTS lead_bulk_changes")
            cursor.execute(
                f"CREATE TEMP TABLE lead_bulk_changes (LIKE {self.table}, "
                "seen_updated_at timestamptz) ON COMMIT DROP"
            )
            names = f"{self._column_names()}, id, seen_updated_at"
            self._copy(cursor, "lead_bulk_changes", names, lines)
            cursor.execute(
                f"UPDATE {self.table} AS lead SET {assignments} "  # noqa: S608 - names are ours
                "FROM lead_bulk_changes AS changes "
                "WHERE lead.id = changes.id AND lead.updated_at = changes.seen_updated_at"
            )
            if cursor.rowcount != len(leads):
                raise LeadChangedMeanwhile(
                    f"{len(leads) - cursor.rowcount} leads changed meanwhile"
                )

    def _flagged(self, line: str) -> str:
        # COPY's text format escapes a tab inside a value, so each tab separates two columns.
        cells = line.split("\t")
        cells[self.do_not_call_index] = copy_text(True)
        return "\t".join(cells)

    def copy_line(self, values: Mapping[str, Any]) -> str:
        """One lead's COPY line; a field it lacks takes the model's default."""
        return "\t".join(map(copy_text, map(values.get, self.attnames, self.defaults)))

    def copy_lines(self, leads: LeadColumns) -> list[str]:
        """Every lead's COPY line but the time columns, built a column at a time; an empty
        value takes the default."""
        columns: list[Iterable[str]] = []
        described = zip(self.attnames, self.absent, self.kinds, strict=True)
        for attname, absent, kind in islice(described, len(self.attnames) - 2):
            values = leads.columns.get(attname)
            if values is None:
                columns.append(repeat(absent, leads.count))
            else:
                columns.append(copy_column(values, absent, kind, self._texts(attname)))
        return list(map("\t".join, zip(*columns, strict=True)))

    def copy_frame_lines(self, frame: pl.DataFrame, owner: LeadOwner) -> list[str]:
        """What `copy_lines(_as_new_leads(leads, owner))` gives for the leads of `frame` (as
        `LeadColumns.from_frame` holds them), formatted by Polars a column at a time."""
        derived = {
            "time_zone": _frame_time_zones(frame),
            "source": pl.col("source").fill_null(pl.lit(owner.source))
            if "source" in frame.columns
            else pl.lit(owner.source),
            "tenant_id": pl.lit(owner.tenant_id),
            "assigned_to_id": pl.lit(owner.assigned_to_id, dtype=pl.Int64),
        }
        if {"product", "price"} <= set(frame.columns):
            premium = pl.col("premium_price") if "premium_price" in frame.columns else None
            derived["premium_price"] = (
                pl.when((pl.col("product") == PREMIUM_PRODUCT) & pl.col("price").is_not_null())
                .then(pl.col("price"))
                .otherwise(premium)
            )
        values: dict[str, pl.Expr] = {}
        described = zip(self.attnames, self.absent, strict=True)
        for attname, _ in islice(described, len(self.attnames) - 2):
            if attname in derived:
                values[attname] = derived[attname].alias(attname)
            elif attname in frame.columns:
                values[attname] = pl.col(attname)
        typed = frame.lazy().select(values.values())
        dtypes = typed.collect_schema()
        # Only the text columns holding one of COPY's special characters need escaping.
        special = (
            typed.select(
                pl.col(name).str.contains(COPY_SPECIAL.pattern).any()
                for name, dtype in dtypes.items()
                if dtype == pl.String
            )
            .collect()
            .row(0, named=True)
        )
        texts = [
            _copy_expression(pl.col(attname), dtypes[attname], absent, special.get(attname))
            if attname in values
            else pl.lit(absent)
            for attname, absent in islice(
                zip(self.attnames, self.absent, strict=True), len(self.attnames) - 2
            )
        ]
        lines = typed.select(pl.concat_str(texts, separator="\t")).collect()
        return lines.to_series().to_list()

    def _texts(self, attname: str) -> dict[Any, str]:
        """The COPY texts of a column's values formatted so far (dates, prices …), up to a limit.

        A full dict is replaced, never cleared: another import's thread may be reading it.
        """
        texts = self._remembered.get(attname)
        if texts is None or len(texts) > REMEMBERED_TEXTS:
            texts = self._remembered[attname] = {}
        return texts

    def _column_names(self) -> str:
        return ", ".join(connection.ops.quote_name(column) for _, column, _ in self.columns)

    def _copy(self, cursor: Any, table: str, names: str, lines: list[str]) -> None:
        # Django wraps execute() errors (a unique violation becomes IntegrityError), not COPY's.
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            copy.write("\n".join(lines) + "\n")


@functools.cache
def _postgres_writer() -> _PostgresWriter:
    return _PostgresWriter()


def copy_text(value: Any) -> str:
    """`value` in COPY's text format."""
    if value is None:
        return COPY_NULL
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES) if COPY_SPECIAL.search(value) else value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        encoded = _encode_json(value)
        if JSON_NUL in encoded:  # jsonb cannot hold NUL either
            encoded = _encode_json(_without_nul(value))
        return copy_text(encoded)
    if isinstance(value, int | Decimal | date | datetime):
        return str(value)
    raise TypeError(f"cannot COPY a {type(value).__name__}")


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return list(map(_without_nul, value))
    return value


def copy_column(values: list[Any], absent: str, kind: str, texts: dict[Any, str]) -> list[str]:
    """`copy_text` of every value, `absent` for an empty one, in C loops where `kind` allows.

    `kind` is the field's: "text" (str or None values), "json" (dicts, lists) or "scalar"
    (hashable values, each distinct one formatted once and remembered in `texts`).
    """
    if kind == "text":
        try:
            joined = "".join(values)
        except TypeError:  # not all strings: a None, say
            return _copy_each(values, absent)
        if COPY_SPECIAL.search(joined):
            values = list(map(copy_text, values))
        if absent and "" in values:
            values = [value or absent for value in values]
        return values
    if kind == "json":
        return _copy_each(values, absent)
    texts[None] = texts[""] = absent
    for value in set(values).difference(texts):
        texts[value] = copy_text(value)
    return list(map(texts.__getitem__, values))


def _frame_time_zones(frame: pl.DataFrame) -> pl.Expr:
    """Each lead's time zone (`time_zone_for`), asked once per distinct state and phone."""
    if "state" not in frame.columns:
        return pl.lit("")
    phone = pl.col("phone") if "phone" in frame.columns else pl.lit(None, dtype=pl.String)
    pairs = frame.select(pl.col("state").fill_null(""), phone.fill_null("").alias("phone")).unique()
    zones = list(map(time_zone_for, pairs["state"].to_list(), pairs["phone"].to_list()))
    keys = pairs.select(pl.concat_str([pl.col("state"), pl.lit("\x00"), pl.col("phone")]))
    key = pl.concat_str([pl.col("state").fill_null(""), pl.lit("\x00"), phone.fill_null("")])
    return key.replace_strict(
        keys.to_series(), pl.Series(zones, dtype=pl.String), default=pl.lit("")
    )


def _copy_expression(
    value: pl.Expr, dtype: pl.DataType, absent: str, special: bool | None = True
) -> pl.Expr:
    """`value` as `copy_column` formats it: COPY's text format, `absent` when empty. A text
    column without `special` characters needs no escaping."""
    if dtype == pl.String:
        text = value
        if special:
            text = (
                value.str.replace_all("\\", "\\\\", literal=True)
                .str.replace_all("\t", "\\t", literal=True)
                .str.replace_all("\n", "\\n", literal=True)
                .str.replace_all("\r", "\\r", literal=True)
                .str.replace_all("\x00", "", literal=True)
            )
        return pl.when(value.is_null() | (value == "")).then(pl.lit(absent)).otherwise(text)
    if dtype == pl.Boolean:
        text = pl.when(value).then(pl.lit("t")).otherwise(pl.lit("f"))
    elif dtype == pl.Date:
        text = value.dt.to_string("%Y-%m-%d")
    elif isinstance(dtype, pl.Datetime):
        text = value.dt.to_string("%Y-%m-%d %H:%M:%S%.6f+00:00")
    else:  # integers and decimals
        text = value.cast(pl.String)
    return pl.when(value.is_null()).then(pl.lit(absent)).otherwise(text)


def _copy_each(values: list[Any], absent: str) -> list[str]:
    return [absent if is_empty(value) else copy_text(value) for value in values]


def _copy_kind(model_field: Any) -> str:
    if model_field.get_internal_type() in ("CharField", "TextField", "EmailField"):
        return "text"
    return "json" if model_field.get_internal_type() == "JSONField" else "scalar"


_encode_json = DjangoJSONEncoder().encode

"""Many leads at once, by the one merge rule of `leads.services.lead_merge`.

`lead_bulk_upsert` does for a batch what `lead_upsert` does for one lead, in a few queries:
one lookup of the tenant's leads that share a NextGen id, phone or email with the batch, the
merge in Python (so duplicates inside the batch chain onto one lead, in file order), then one
write for the new leads (COPY on PostgreSQL) and one for the changed ones.

The batch comes column by column (`LeadColumns`). Most rows of an import are plain new leads:
no key of theirs is held by a stored lead or by another row. Those skip the merge and, on
PostgreSQL, become COPY lines a column at a time; only the others are merged row by row.

A row the database refuses (a value no normaliser bounded: a merged price past its column, say)
fails alone: the batch is split until the refused rows are found, and the others are written.

Successive batches of one import share a `LeadKeys`: when the tenant had no leads as the import
began, only the keys the import itself has written can be stored, so rows with none of those
skip the lookup and go straight to COPY.
"""

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice, repeat
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from leads.dnc import dnc_listed_phones, lead_writes_lock
from leads.models import Lead, LeadEvent
from leads.normalize import time_zone_for
from leads.services import MATCH_FIELDS, PREMIUM_PRODUCT, is_empty, lead_merge, lead_upsert
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


class LeadColumns:
    """Incoming leads held column by column: `columns[name][i]` is lead i's value of field `name`.

    None, "" and an empty dict mean the lead brings no value for that field.
    """

    __slots__ = ("columns", "count", "prepared")

    def __init__(self, columns: dict[str, list[Any]], count: int) -> None:
        self.columns = columns
        self.count = count
        # (owner, COPY lines but the time) from lead_bulk_prepare
        self.prepared: tuple[Any, list[str]] | None = None

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> "LeadColumns":
        names = dict.fromkeys(name for row in rows for name in row)
        return cls({name: [row.get(name) for row in rows] for name in names}, len(rows))

    def column(self, name: str) -> list[Any]:
        return self.columns.get(name) or [None] * self.count

    def row(self, index: int) -> dict[str, Any]:
        """Return lead `index` as a dict of its non-empty values."""
        return {
            name: value
            for name, values in self.columns.items()
            if not is_empty(value := values[index])
        }

    def part(self, start: int, stop: int) -> "LeadColumns":
        """Return the leads from `start` to `stop`, with their prepared COPY lines."""
        part = LeadColumns(
            {name: values[start:stop] for name, values in self.columns.items()}, stop - start
        )
        if self.prepared is not None:
            part.prepared = (self.prepared[0], self.prepared[1][start:stop])
        return part

    def without(self, positions: Iterable[int]) -> "LeadColumns":
        """Return these leads but those at `positions` (copying lists is cheaper than picking)."""
        columns = {name: list(values) for name, values in self.columns.items()}
        dropped = sorted(set(positions), reverse=True)
        for values in columns.values():
            for position in dropped:
                del values[position]
        return LeadColumns(columns, self.count - len(dropped))


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

    Keys are remembered by their hash, a third of the memory of the strings: two keys sharing a
    hash only cost a needless lookup.
    """

    def __init__(self, *, tenant_had_leads: bool) -> None:
        self.tenant_had_leads = tenant_had_leads
        self._written: dict[str, set[int]] = {name: set() for name in MATCH_FIELDS}

    @classmethod
    def for_tenant(cls, tenant_id: int) -> "LeadKeys":
        return cls(tenant_had_leads=Lead.objects.filter(tenant_id=tenant_id).exists())

    def forget(self) -> None:
        """Look every row up from now on, as if the tenant had leads when the import began."""
        self.tenant_had_leads = True
        self._written = {name: set() for name in MATCH_FIELDS}

    def to_look_up(self, key_columns: Mapping[str, list[Any]]) -> dict[str, set[str]]:
        """Return, per key field, the batch's keys that a stored lead may hold."""
        present = _present_keys(key_columns)
        if self.tenant_had_leads:
            return present
        return {
            name: {key for key in present[name] if hash(key) in self._written[name]}
            for name in MATCH_FIELDS
        }

    def remember(self, key_columns: Mapping[str, list[Any]]) -> None:
        """Note the keys a batch brought: the tenant's leads may hold them from now on."""
        if self.tenant_had_leads:
            return
        for name, keys in _present_keys(key_columns).items():
            self._written[name].update(map(hash, keys))


def _present_keys(key_columns: Mapping[str, list[Any]]) -> dict[str, set[str]]:
    return {name: set(keys) - {None, ""} for name, keys in key_columns.items()}


@dataclass(frozen=True)
class _Owner:
    """Whose the leads a batch creates are, and where they came from when a row does not say."""

    tenant_id: int
    assigned_to_id: int | None
    source: str


class LeadChangedMeanwhile(IntegrityError):
    """A lead the batch read was changed or deleted by another writer before the batch wrote."""


class _Slot:
    """One lead as the batch will leave it: already stored (pk) or about to be created."""

    __slots__ = ("changed", "old", "pk", "values")

    def __init__(self, values: dict[str, Any], pk: int | None) -> None:
        self.values = values
        self.pk = pk
        self.changed: set[str] = set()
        self.old: dict[str, Any] = {}  # the stored values the batch replaces


def lead_bulk_upsert(
    *,
    tenant_id: int,
    rows: LeadColumns | Sequence[Mapping[str, Any]],
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
    if not isinstance(rows, LeadColumns):
        rows = LeadColumns.from_rows(rows)
    if not all(map(_has_phone_or_email, rows.column("phone"), rows.column("email"))):
        raise ValueError("every row needs a phone or an email")
    if not rows.count:
        return BulkUpsertResult()
    owner = _Owner(tenant_id, assigned_to_id, source)
    return _write_or_split(rows, owner=owner, keys=keys, record=record)


def _write_or_split(
    rows: LeadColumns, *, owner: _Owner, keys: LeadKeys | None, record: bool = False
) -> BulkUpsertResult:
    """Write `rows` as one batch in a savepoint; if the database refuses a value, write each
    half the same way, in order, down to the single rows it refuses."""
    try:
        with transaction.atomic():
            return _merge_and_write(
                tenant_id=owner.tenant_id,
                rows=rows,
                source=owner.source,
                assigned_to_id=owner.assigned_to_id,
                keys=keys,
                record=record,
            )
    except DataError as error:
        if rows.count == 1:
            return BulkUpsertResult(outcomes=[FAILED], refused={0: refusal(error)})
    except IntegrityError:
        result = _upsert_each(
            tenant_id=owner.tenant_id,
            rows=rows,
            source=owner.source,
            assigned_to_id=owner.assigned_to_id,
            record=record,
        )
        if keys is not None:
            keys.forget()  # another writer is adding leads: look every row up from now on
        return result
    # Rows merge in file order, so the halves are written in order: the second half finds the
    # leads the first one stored, as the whole batch would have.
    middle = rows.count // 2
    first = _write_or_split(rows.part(0, middle), owner=owner, keys=keys, record=record)
    second = _write_or_split(rows.part(middle, rows.count), owner=owner, keys=keys, record=record)
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


def _merge_and_write(
    *,
    tenant_id: int,
    rows: LeadColumns,
    source: str,
    assigned_to_id: int | None,
    keys: LeadKeys | None,
    record: bool = False,
) -> BulkUpsertResult:
    key_columns = {name: rows.column(name) for name in MATCH_FIELDS}
    # The do-not-call list, read once for the batch's phones, under the lock its writers wait
    # for (leads.dnc): a number listed meanwhile is either seen here or flags what we write.
    lead_writes_lock()
    listed = dnc_listed_phones(tenant_id=tenant_id, phones=key_columns["phone"])
    listed_plain: set[int] = set()
    index: dict[str, dict[str, _Slot]] = {name: {} for name in MATCH_FIELDS}
    stored: list[_Slot] = []
    looked_up = keys.to_look_up(key_columns) if keys else _present_keys(key_columns)
    for values in _existing_matches(tenant_id, looked_up) if any(looked_up.values()) else ():
        slot = _Slot(values, values["id"])
        stored.append(slot)
        for name in MATCH_FIELDS:
            if values[name]:
                index[name][values[name]] = slot

    # A plain row is a new lead that no other row and no stored lead shares a key with.
    shared = [
        {key for key, seen in Counter(key_columns[name]).items() if seen > 1 and key}
        | index[name].keys()
        for name in MATCH_FIELDS
    ]
    # New leads in row order: a plain row's index, or the values of a merged new lead.
    created: list[int | _Slot] = []
    result = BulkUpsertResult()
    outcomes = result.outcomes
    for position, row_keys in enumerate(zip(*key_columns.values(), strict=True)):
        if all(key not in keys_held for key, keys_held in zip(row_keys, shared, strict=True)):
            created.append(position)
            outcomes.append(IMPORTED)
            if listed and row_keys[PHONE_KEY] in listed:
                listed_plain.add(position)
                result.do_not_call += 1
            continue
        incoming = rows.row(position)
        slot = None
        for name in MATCH_FIELDS:
            key = incoming.get(name)
            if key and (slot := index[name].get(key)) is not None:
                break
        if slot is None:
            slot = _Slot(lead_merge(None, incoming), None)
            slot.values["do_not_call"] = slot.values.get("phone") in listed
            created.append(slot)
            for name in MATCH_FIELDS:
                key = slot.values.get(name)
                if key:
                    index[name][key] = slot
            outcomes.append(IMPORTED)
            result.do_not_call += slot.values["do_not_call"]
            continue
        changes = lead_merge(slot.values, incoming)
        # Like leads.services._without_taken_keys: a key held by another lead stays there.
        for name in MATCH_FIELDS:
            if name in changes:
                holder = index[name].get(changes[name])
                if holder is not None and holder is not slot:
                    del changes[name]
        if not changes:
            outcomes.append(SKIPPED)
            result.do_not_call += bool(slot.values.get("do_not_call"))
            continue
        if "phone" in changes:
            changes["do_not_call"] = changes["phone"] in listed
        for name in MATCH_FIELDS:
            if name in changes:
                old_key = slot.values.get(name)
                if old_key and index[name].get(old_key) is slot:
                    del index[name][old_key]
                index[name][changes[name]] = slot
        if record and slot.pk is not None:
            for name in changes.keys() - slot.old.keys():
                slot.old[name] = slot.values.get(name)
        slot.values.update(changes)
        slot.changed.update(changes)
        outcomes.append(UPDATED)
        result.do_not_call += bool(slot.values.get("do_not_call"))

    now = timezone.now()
    changed = [slot for slot in stored if slot.changed]
    for slot in changed:
        if "state" in slot.changed or "phone" in slot.changed:
            zone = time_zone_for(slot.values["state"], slot.values["phone"])
            if zone != slot.values["time_zone"]:
                if record:
                    slot.old.setdefault("time_zone", slot.values["time_zone"])
                slot.values["time_zone"] = zone
        slot.values["seen_updated_at"] = slot.values["updated_at"]
        slot.values["updated_at"] = now
    new_leads = _NewLeads(rows, owner=_Owner(tenant_id, assigned_to_id, source), now=now)
    new_leads.listed = listed_plain
    for slot in created:
        if isinstance(slot, _Slot):
            new_leads.add_merged(slot.values)
        else:
            new_leads.add_plain(slot)

    writer = _postgres_writer() if connection.vendor == "postgresql" else _OrmWriter()
    # Updates first: a lead may give up a phone or email that a new lead of this batch takes.
    if changed:
        writer.update([slot.values for slot in changed])
        # The vendor updates go on the leads' timelines: one insert for the batch.
        lead_events_record_bulk(
            LeadEvent(
                tenant_id=tenant_id,
                lead_id=slot.pk,
                kind=EventKind.VENDOR_UPDATE,
                at=now,
                data={"door": source, "fields": vendor_fields(slot.changed)},
            )
            for slot in changed
        )
    if created:
        writer.insert(new_leads)
    if keys is not None:
        keys.remember(key_columns)
    if record:
        _record_writes(result, tenant_id=tenant_id, now=now, created=bool(created), changed=changed)
    return result


def _record_writes(
    result: BulkUpsertResult, *, tenant_id: int, now: datetime, created: bool, changed: list[_Slot]
) -> None:
    """Name the leads this batch created (every one carries the batch's `now` as created_at,
    found through the tenant's created_at index) and what it replaced on stored ones."""
    if created:
        result.created_ids = list(
            Lead.objects.filter(tenant_id=tenant_id, created_at=now).values_list("id", flat=True)
        )
    result.replaced = [
        ReplacedValues(
            lead_id=slot.pk,
            written_at=now,
            old=slot.old,
            new={name: slot.values.get(name) for name in slot.old},
        )
        for slot in changed
    ]


class _NewLeads:
    """The leads a batch creates, in row order: plain rows of the batch or merged values."""

    def __init__(self, rows: LeadColumns, *, owner: _Owner, now: datetime) -> None:
        self.rows = rows
        self.owner = owner
        self.now = now
        self.order: list[int | dict[str, Any]] = []
        # Plain rows whose phone is on the do-not-call list: stored flagged.
        self.listed: set[int] = set()

    def add_plain(self, position: int) -> None:
        self.order.append(position)

    def add_merged(self, values: dict[str, Any]) -> None:
        values["time_zone"] = time_zone_for(values.get("state", ""), values.get("phone", ""))
        values.update(
            tenant_id=self.owner.tenant_id,
            assigned_to_id=self.owner.assigned_to_id,
            created_at=self.now,
            updated_at=self.now,
        )
        values.setdefault("source", self.owner.source)
        self.order.append(values)


def _as_new_leads(rows: LeadColumns, owner: _Owner) -> LeadColumns:
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
) -> None:
    """Format now what `lead_bulk_upsert` with the same arguments would write for new leads.

    The upsert has to wait for the database; an import calls this in its parsing thread, so
    the upsert has less to do. Only PostgreSQL's COPY lines are prepared.
    """
    if connection.vendor == "postgresql":
        owner = _Owner(tenant_id, assigned_to_id, source)
        rows.prepared = (owner, _postgres_writer().copy_lines(_as_new_leads(rows, owner)))


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
    keys = {name: sorted(values) for name, values in keys.items()}
    if connection.vendor == "postgresql":
        found = _postgres_matches(tenant_id, keys)
    else:
        found = _orm_matches(tenant_id, keys)
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
                found.setdefault(lead["id"], lead)
    return found


def _postgres_matches(tenant_id: int, keys: dict[str, list[str]]) -> dict[int, dict[str, Any]]:
    # Not locked (FOR UPDATE would write every matched row, most of which stay as they are):
    # the write checks instead that each changed lead is still as read (_PostgresWriter.update).
    attnames = [f.attname for f in Lead._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in Lead._meta.concrete_fields)
    # `<> ''` repeats each unique index's condition, so the planner may use those indexes.
    conditions = " OR ".join(
        f"({quote(column)} = ANY(%s) AND {quote(column)} <> '')"
        for column in (Lead._meta.get_field(name).column for name in keys)
    )
    query = (
        f"SELECT {columns} FROM {Lead._meta.db_table} "  # noqa: S608 - names are ours
        f"WHERE tenant_id = %s AND ({conditions})"
    )
    found: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, [tenant_id, *keys.values()])
        for row in cursor.fetchall():
            values = dict(zip(attnames, row, strict=True))
            if isinstance(values["vendor_data"], str):
                values["vendor_data"] = json.loads(values["vendor_data"])
            found[values["id"]] = values
    return found


def _upsert_each(
    *,
    tenant_id: int,
    rows: LeadColumns,
    source: str,
    assigned_to_id: int | None,
    record: bool = False,
) -> BulkUpsertResult:
    result = BulkUpsertResult()
    for position, incoming in enumerate(map(rows.row, range(rows.count))):
        try:
            with transaction.atomic():
                upserted = lead_upsert(tenant_id=tenant_id, incoming=incoming)
                if upserted.is_new:
                    Lead.objects.filter(pk=upserted.lead.pk).update(
                        source=incoming.get("source") or source, assigned_to_id=assigned_to_id
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
        columns.append((model_field.attname, model_field.column, default))
    return columns


class _OrmWriter:
    """Portable writes through the ORM (SQLite, the embedded default)."""

    def insert(self, new_leads: _NewLeads) -> None:
        plain = _as_new_leads(new_leads.rows, new_leads.owner)
        stamp = {"created_at": new_leads.now, "updated_at": new_leads.now}
        leads = [
            Lead(**(plain.row(lead) | stamp if isinstance(lead, int) else lead))
            for lead in new_leads.order
        ]
        for lead, stored in zip(new_leads.order, leads, strict=True):
            if isinstance(lead, int) and lead in new_leads.listed:
                stored.do_not_call = True
        Lead.objects.bulk_create(leads, batch_size=ORM_WRITE_BATCH)

    def update(self, rows: list[dict[str, Any]]) -> None:
        names = [
            f.name
            for f in Lead._meta.concrete_fields
            if f.attname not in NOT_MERGED and not f.is_relation
        ]
        leads = [Lead(**{k: v for k, v in row.items() if k != "seen_updated_at"}) for row in rows]
        Lead.objects.bulk_update(leads, [*names, "updated_at"], batch_size=ORM_WRITE_BATCH)


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

    def insert(self, new_leads: _NewLeads) -> None:
        plain_lines: list[str] = []
        if any(isinstance(lead, int) for lead in new_leads.order):
            prepared = new_leads.rows.prepared
            if prepared is not None and prepared[0] == new_leads.owner:
                plain_lines = prepared[1]
            else:
                plain_lines = self.copy_lines(_as_new_leads(new_leads.rows, new_leads.owner))
        now = copy_text(new_leads.now)
        time = f"\t{now}\t{now}"
        lines = [
            plain_lines[lead] + time if isinstance(lead, int) else self.copy_line(lead)
            for lead in new_leads.order
        ]
        if new_leads.listed:
            # Plain lines are made ahead, unflagged: flag the few listed ones in place.
            for line_number, lead in enumerate(new_leads.order):
                if isinstance(lead, int) and lead in new_leads.listed:
                    lines[line_number] = self._flagged(lines[line_number])
        with connection.cursor() as cursor:
            self._copy(cursor, self.table, self._column_names(), lines)

    def update(self, rows: list[dict[str, Any]]) -> None:
        quote = connection.ops.quote_name
        assignments = ", ".join(
            f"{quote(column)} = changes.{quote(column)}"
            for attname, column, _ in self.columns
            if attname not in NOT_MERGED or attname == "updated_at"
        )
        # Each change names the lead it applies to and the version of it it was merged from.
        lines = [
            f"{self.copy_line(row)}\t{row['id']}\t{copy_text(row['seen_updated_at'])}"
            for row in rows
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
            if cursor.rowcount != len(rows):
                raise LeadChangedMeanwhile(f"{len(rows) - cursor.rowcount} leads changed meanwhile")

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


def _copy_each(values: list[Any], absent: str) -> list[str]:
    return [absent if is_empty(value) else copy_text(value) for value in values]


def _copy_kind(model_field: Any) -> str:
    if model_field.get_internal_type() in ("CharField", "TextField", "EmailField"):
        return "text"
    return "json" if model_field.get_internal_type() == "JSONField" else "scalar"


_encode_json = DjangoJSONEncoder().encode

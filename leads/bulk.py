"""Many leads at once, by the one merge rule of `leads.services.lead_merge`.

`lead_bulk_upsert` does for a batch what `lead_upsert` does for one lead, in a few queries:
one lookup of the tenant's leads that share a NextGen id, phone or email with the batch, the
merge in Python (so duplicates inside the batch chain onto one lead, in file order), then one
write for the new leads (COPY on PostgreSQL) and one for the changed ones.

Successive batches of one import share a `LeadKeys`: when the tenant had no leads as the import
began, only the keys the import itself has written can be stored, so rows with none of those
skip the lookup and go straight to COPY.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leads.models import Lead
from leads.normalize import time_zone_for
from leads.services import MATCH_FIELDS, lead_merge, lead_upsert

IMPORTED = "imported"
UPDATED = "updated"
SKIPPED = "skipped"

# SQLite counts bound parameters per statement; PostgreSQL takes far more.
SQLITE_LOOKUP_CHUNK = 900
ORM_WRITE_BATCH = 500
ESTIMATED_ROWS = re.compile(r"rows=(\d+)")
STATISTICS_TOLERANCE = 4
# Set by the database or by the write itself, never by a merge.
NOT_MERGED = frozenset({"id", "tenant_id", "created_at", "updated_at"})


@dataclass
class BulkUpsertResult:
    """What became of each incoming row, in order: imported, updated or skipped."""

    outcomes: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


class LeadKeys:
    """The keys a tenant's stored leads may hold, remembered across the batches of one import.

    If the tenant had leads when the import began, any key may be stored and every row is looked
    up. Otherwise only keys written by earlier batches can be. A lead stored meanwhile by another
    door (the webhook) is still found: its unique key stops the batch's COPY, and the batch is
    redone row by row (`lead_bulk_upsert`).
    """

    def __init__(self, *, tenant_had_leads: bool) -> None:
        self.tenant_had_leads = tenant_had_leads
        self._written: dict[str, set[str]] = {name: set() for name in MATCH_FIELDS}

    @classmethod
    def for_tenant(cls, tenant_id: int) -> "LeadKeys":
        return cls(tenant_had_leads=Lead.objects.filter(tenant_id=tenant_id).exists())

    def forget(self) -> None:
        """Look every row up from now on, as if the tenant had leads when the import began."""
        self.tenant_had_leads = True
        self._written = {name: set() for name in MATCH_FIELDS}

    def rows_to_look_up(self, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        """Return the rows a stored lead may match."""
        if self.tenant_had_leads:
            return rows
        written = self._written
        nextgen_ids, phones, emails = written["nextgen_id"], written["phone"], written["email"]
        return [
            row
            for row in rows
            if row.get("nextgen_id") in nextgen_ids
            or row.get("phone") in phones
            or row.get("email") in emails
        ]

    def remember(self, index: Mapping[str, Mapping[str, Any]]) -> None:
        """Note the keys a batch left on the tenant's leads (its index of keys to leads)."""
        if self.tenant_had_leads:
            return
        for name in MATCH_FIELDS:
            self._written[name].update(index[name])


class LeadChangedMeanwhile(IntegrityError):
    """A lead the batch read was changed or deleted by another writer before the batch wrote."""


class _Slot:
    """One lead as the batch will leave it: already stored (pk) or about to be created."""

    __slots__ = ("changed", "pk", "values")

    def __init__(self, values: dict[str, Any], pk: int | None) -> None:
        self.values = values
        self.pk = pk
        self.changed: set[str] = set()


def lead_bulk_upsert(
    *,
    tenant_id: int,
    rows: Sequence[Mapping[str, Any]],
    source: str,
    assigned_to_id: int | None = None,
    keys: LeadKeys | None = None,
) -> BulkUpsertResult:
    """Store each of `rows` (normalised model field values) as a new lead or merge it into a match.

    Rows are taken in order and match, within the tenant, by NextGen id, then phone, then email,
    exactly as `lead_upsert` does, including leads created by earlier rows of the same batch.
    `source` and `assigned_to_id` apply to the leads this creates only. Every row needs a phone
    or an email. If a concurrent writer takes one of the batch's keys first, the batch is redone
    one row at a time through `lead_upsert`, which settles such races. `keys`, shared by the
    batches of one import, spares the lookup of rows no stored lead can match.
    """
    for row in rows:
        if not (row.get("phone") or row.get("email")):
            raise ValueError("every row needs a phone or an email")
    if not rows:
        return BulkUpsertResult()
    try:
        with transaction.atomic():
            return _merge_and_write(
                tenant_id=tenant_id,
                rows=rows,
                source=source,
                assigned_to_id=assigned_to_id,
                keys=keys,
            )
    except IntegrityError:
        result = _upsert_each(
            tenant_id=tenant_id, rows=rows, source=source, assigned_to_id=assigned_to_id
        )
        if keys is not None:
            keys.forget()  # another writer is adding leads: look every row up from now on
        return result


def _merge_and_write(
    *,
    tenant_id: int,
    rows: Sequence[Mapping[str, Any]],
    source: str,
    assigned_to_id: int | None,
    keys: LeadKeys | None,
) -> BulkUpsertResult:
    index: dict[str, dict[str, _Slot]] = {name: {} for name in MATCH_FIELDS}
    stored: list[_Slot] = []
    looked_up = rows if keys is None else keys.rows_to_look_up(rows)
    for values in _existing_matches(tenant_id, looked_up) if looked_up else ():
        slot = _Slot(values, values["id"])
        stored.append(slot)
        for name in MATCH_FIELDS:
            if values[name]:
                index[name][values[name]] = slot

    created: list[_Slot] = []
    result = BulkUpsertResult()
    outcomes = result.outcomes
    for incoming in rows:
        slot = None
        for name in MATCH_FIELDS:
            key = incoming.get(name)
            if key and (slot := index[name].get(key)) is not None:
                break
        if slot is None:
            slot = _Slot(lead_merge(None, incoming), None)
            created.append(slot)
            for name in MATCH_FIELDS:
                key = slot.values.get(name)
                if key:
                    index[name][key] = slot
            outcomes.append(IMPORTED)
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
            continue
        for name in MATCH_FIELDS:
            if name in changes:
                old_key = slot.values.get(name)
                if old_key and index[name].get(old_key) is slot:
                    del index[name][old_key]
                index[name][changes[name]] = slot
        slot.values.update(changes)
        slot.changed.update(changes)
        outcomes.append(UPDATED)

    now = timezone.now()
    changed = [slot for slot in stored if slot.changed]
    for slot in changed:
        if "state" in slot.changed or "phone" in slot.changed:
            zone = time_zone_for(slot.values["state"], slot.values["phone"])
            if zone != slot.values["time_zone"]:
                slot.values["time_zone"] = zone
        slot.values["seen_updated_at"] = slot.values["updated_at"]
        slot.values["updated_at"] = now
    for slot in created:
        values = slot.values
        values["time_zone"] = time_zone_for(values.get("state", ""), values.get("phone", ""))
        values.update(
            tenant_id=tenant_id, assigned_to_id=assigned_to_id, created_at=now, updated_at=now
        )
        values.setdefault("source", source)

    writer = _PostgresWriter() if connection.vendor == "postgresql" else _OrmWriter()
    # Updates first: a lead may give up a phone or email that a new lead of this batch takes.
    if changed:
        writer.update([slot.values for slot in changed])
    if created:
        writer.insert([slot.values for slot in created])
    if keys is not None:
        keys.remember(index)
    return result


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


def _existing_matches(tenant_id: int, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return, as field dicts in pk order, the tenant's leads sharing a key with any of `rows`."""
    keys = {name: sorted({row[name] for row in rows if row.get(name)}) for name in MATCH_FIELDS}
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
    rows: Sequence[Mapping[str, Any]],
    source: str,
    assigned_to_id: int | None,
) -> BulkUpsertResult:
    result = BulkUpsertResult()
    for incoming in rows:
        with transaction.atomic():
            upserted = lead_upsert(tenant_id=tenant_id, incoming=incoming)
            if upserted.is_new:
                Lead.objects.filter(pk=upserted.lead.pk).update(
                    source=incoming.get("source") or source, assigned_to_id=assigned_to_id
                )
        if upserted.is_new:
            result.outcomes.append(IMPORTED)
        else:
            result.outcomes.append(UPDATED if upserted.changed_fields else SKIPPED)
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

    def insert(self, rows: list[dict[str, Any]]) -> None:
        Lead.objects.bulk_create([Lead(**row) for row in rows], batch_size=ORM_WRITE_BATCH)

    def update(self, rows: list[dict[str, Any]]) -> None:
        names = [
            f.name
            for f in Lead._meta.concrete_fields
            if f.attname not in NOT_MERGED and not f.is_relation
        ]
        leads = [Lead(**{k: v for k, v in row.items() if k != "seen_updated_at"}) for row in rows]
        Lead.objects.bulk_update(leads, [*names, "updated_at"], batch_size=ORM_WRITE_BATCH)


class _PostgresWriter:
    """COPY new leads straight into the table; apply changes through a COPY-filled temp table."""

    table = Lead._meta.db_table

    def __init__(self) -> None:
        self.columns = _field_defaults()

    def _copy_rows(self, cursor: Any, table: str, rows: list[dict[str, Any]], *, changes: bool):
        # Changes name the lead they apply to and the version of it they were merged from.
        extra = ["id", "seen_updated_at"] if changes else []
        attnames = [attname for attname, _, _ in self.columns] + extra
        names = ", ".join(
            connection.ops.quote_name(column)
            for column in [column for _, column, _ in self.columns] + extra
        )
        defaults = [default for _, _, default in self.columns] + [None] * len(extra)
        defaults[attnames.index("vendor_data")] = "{}"
        encode_json = DjangoJSONEncoder().encode
        # Django wraps execute() errors (a unique violation becomes IntegrityError), not COPY's.
        with (
            connection.wrap_database_errors,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                vendor_data = row.get("vendor_data")
                if vendor_data is not None:
                    row = {**row, "vendor_data": encode_json(vendor_data) if vendor_data else "{}"}
                write_row(tuple(map(row.get, attnames, defaults)))

    def insert(self, rows: list[dict[str, Any]]) -> None:
        with connection.cursor() as cursor:
            self._copy_rows(cursor, self.table, rows, changes=False)

    def update(self, rows: list[dict[str, Any]]) -> None:
        quote = connection.ops.quote_name
        assignments = ", ".join(
            f"{quote(column)} = changes.{quote(column)}"
            for attname, column, _ in self.columns
            if attname not in NOT_MERGED or attname == "updated_at"
        )
        with connection.cursor() as cursor:
            # Inside an outer transaction an earlier batch's table may still be there.
            cursor.execute("DROP TABLE IF EXISTS lead_bulk_changes")
            cursor.execute(
                f"CREATE TEMP TABLE lead_bulk_changes (LIKE {self.table}, "
                "seen_updated_at timestamptz) ON COMMIT DROP"
            )
            self._copy_rows(cursor, "lead_bulk_changes", rows, changes=True)
            cursor.execute(
                f"UPDATE {self.table} AS lead SET {assignments} "  # noqa: S608 - names are ours
                "FROM lead_bulk_changes AS changes "
                "WHERE lead.id = changes.id AND lead.updated_at = changes.seen_updated_at"
            )
            if cursor.rowcount != len(rows):
                raise LeadChangedMeanwhile(f"{len(rows) - cursor.rowcount} leads changed meanwhile")

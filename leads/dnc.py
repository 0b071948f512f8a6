"""The agent's do-not-call list: its writes (add, upload, remove) and reads (list, audit).

A lead's `do_not_call` is a stored flag kept in step with the list by every writer, so the desk
filters on an index and the webhook pays one EXISTS inside its INSERT (docs/dnc.md). Adding or
removing a number flips the flag of the tenant's lead with that phone in the same transaction
and tells the agent's screens once it commits.

Writers of leads check the list only while holding ROW EXCLUSIVE on the lead table (their first
write, or `lead_writes_lock`); the list's writers take SHARE ROW EXCLUSIVE first, which waits for
those writers and makes later ones wait. So a lead written while a number is being added is
either seen by the addition's UPDATE or sees the new entry itself: never neither.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from leads.bounds import NUL
from leads.events import send_to_tenant_on_commit
from leads.models import DNC_REASON_MAX_LENGTH, DoNotCallEntry, DoNotCallSource, Lead, LeadEvent
from leads.normalize import InvalidValue, normalize_phone
from leads.services import lead_updated_event
from leads.sql import TEXTS, texts_parameter
from leads.timeline import EventKind, lead_events_record_bulk

# Numbers added per transaction by an upload: each holds the lead table's writers back briefly.
UPLOAD_CHUNK = 1000
# SQLite counts bound parameters per statement.
SQLITE_CHUNK = 900
MIN_SEARCH_DIGITS = 1


class DoNotCallRefused(ValueError):
    """The request cannot change the list: `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class DoNotCallAdded:
    entry: DoNotCallEntry
    created: bool


@dataclass
class DoNotCallUploaded:
    added: int = 0
    already_listed: int = 0
    invalid_rows: list[tuple[int, str]] = field(default_factory=list)


def dnc_phone_clean(raw: Any) -> str:
    """Return `raw` as an E.164 phone, or raise DoNotCallRefused naming `phone`."""
    if not isinstance(raw, str) or not raw.strip():
        raise DoNotCallRefused("phone", "A phone number is required.")
    if NUL in raw:
        raise DoNotCallRefused("phone", "The phone must not contain NUL characters.")
    try:
        phone = normalize_phone(raw)
    except InvalidValue as error:
        raise DoNotCallRefused("phone", str(error)) from None
    if not phone:
        raise DoNotCallRefused("phone", "A phone number is required.")
    return phone


def dnc_reason_clean(raw: Any, *, field_name: str = "reason") -> str:
    """Return the reason stripped, or raise DoNotCallRefused: required, at most 200 characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise DoNotCallRefused(field_name, "A reason is required.")
    if NUL in raw:
        raise DoNotCallRefused(field_name, "The reason must not contain NUL characters.")
    if len(raw) > DNC_REASON_MAX_LENGTH:
        raise DoNotCallRefused(
            field_name, f"The reason is {len(raw)} characters; at most {DNC_REASON_MAX_LENGTH}."
        )
    return raw.strip()


def _list_writes_lock() -> None:
    """Wait for every transaction writing leads, and hold new ones back until this one ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Lead._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def lead_writes_lock() -> None:
    """Take the lock every lead writer holds before it reads the list (see the module doc).

    A writer's first INSERT or UPDATE takes it anyway; a batch that reads the list before it
    writes takes it first. It never waits for another writer, only for a list change.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Lead._meta.db_table} IN ROW EXCLUSIVE MODE")


def dnc_listed_phones(*, tenant_id: int, phones: Iterable[str]) -> set[str]:
    """Return which of `phones` are on the tenant's active list: one query for a whole batch."""
    wanted = sorted({phone for phone in phones if phone})
    if not wanted:
        return set()
    active = DoNotCallEntry.objects.filter(tenant_id=tenant_id, removed_at__isnull=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT phone FROM {DoNotCallEntry._meta.db_table} "  # noqa: S608 - our names
                f"WHERE tenant_id = %s AND phone = ANY({TEXTS}) AND removed_at IS NULL",
                [tenant_id, texts_parameter(wanted)],
            )
            return {phone for (phone,) in cursor.fetchall()}
    listed: set[str] = set()
    for start in range(0, len(wanted), SQLITE_CHUNK):
        chunk = wanted[start : start + SQLITE_CHUNK]
        listed.update(active.filter(phone__in=chunk).values_list("phone", flat=True))
    return listed


def _leads_flag(
    *,
    tenant_id: int,
    phones: Sequence[str],
    flag: bool,
    by: User | None = None,
    reasons: Mapping[str, str] | None = None,
    source: str = "",
) -> None:
    """Set the flag of the tenant's leads with these phones, each change on the lead's timeline
    (one insert per chunk); announce each lead once committed."""
    if not phones:
        return
    changed: list[int] = []
    kind = EventKind.DO_NOT_CALL_ADDED if flag else EventKind.DO_NOT_CALL_REMOVED
    by_id = by.pk if by is not None and by.is_authenticated else None
    for start in range(0, len(phones), SQLITE_CHUNK):
        leads = Lead.objects.filter(
            tenant_id=tenant_id, phone__in=phones[start : start + SQLITE_CHUNK]
        ).exclude(do_not_call=flag)
        found = list(leads.values_list("pk", "phone"))
        ids = [pk for pk, _phone in found]
        now = timezone.now()
        # updated_at moves, so a batch that read one of these leads before cannot write it back.
        Lead.objects.filter(pk__in=ids).update(do_not_call=flag, updated_at=now)
        lead_events_record_bulk(
            LeadEvent(
                tenant_id=tenant_id,
                lead_id=pk,
                kind=kind,
                at=now,
                by_id=by_id,
                data={"phone": phone, "reason": (reasons or {}).get(phone, ""), "source": source},
            )
            for pk, phone in found
        )
        changed += ids
    for lead in Lead.objects.filter(pk__in=changed).order_by("pk"):
        send_to_tenant_on_commit(tenant_id, lead_updated_event(lead))


def dnc_entry_add(
    *,
    tenant: User,
    phone: Any,
    reason: Any,
    source: str = DoNotCallSource.MANUAL,
    added_by: User | None = None,
) -> DoNotCallAdded:
    """List `phone` (normalised here) with `reason`; flag the tenant's lead with that phone.

    A number already listed is left as it is (`created` False). Raise DoNotCallRefused for a
    number that does not normalise or a missing, overlong or NUL-holding reason.
    """
    phone = dnc_phone_clean(phone)
    reason = dnc_reason_clean(reason)
    with transaction.atomic():
        _list_writes_lock()
        try:
            with transaction.atomic():
                entry = DoNotCallEntry.objects.create(
                    tenant=tenant,
                    phone=phone,
                    reason=reason,
                    source=source,
                    added_by=added_by,
                    added_at=timezone.now(),
                )
        except IntegrityError:
            entry = DoNotCallEntry.objects.get(tenant=tenant, phone=phone, removed_at__isnull=True)
            return DoNotCallAdded(entry=entry, created=False)
        _leads_flag(
            tenant_id=tenant.pk,
            phones=[phone],
            flag=True,
            by=added_by,
            reasons={phone: reason},
            source=source,
        )
    return DoNotCallAdded(entry=entry, created=True)


def dnc_numbers_add(
    *,
    tenant: User,
    numbers: Sequence[tuple[int, str, str]],
    source: str = DoNotCallSource.UPLOAD,
    added_by: User | None = None,
) -> DoNotCallUploaded:
    """List many numbers at once: `numbers` holds (line, raw phone, reason) per row.

    A row whose phone does not normalise, or whose reason is empty, is counted invalid; a number
    listed already (or twice in `numbers`) counts once as added, then as already listed. A
    reason past the column is cut to it. Written UPLOAD_CHUNK numbers per transaction.
    """
    result = DoNotCallUploaded()
    cleaned: dict[str, str] = {}
    for line, raw, reason in numbers:
        try:
            phone = dnc_phone_clean(raw)
        except DoNotCallRefused:
            result.invalid_rows.append((line, raw))
            continue
        if phone in cleaned:
            result.already_listed += 1
            continue
        cleaned[phone] = reason.replace(NUL, "").strip()[:DNC_REASON_MAX_LENGTH]
    phones = list(cleaned)
    for start in range(0, len(phones), UPLOAD_CHUNK):
        chunk = phones[start : start + UPLOAD_CHUNK]
        with transaction.atomic():
            _list_writes_lock()
            listed = dnc_listed_phones(tenant_id=tenant.pk, phones=chunk)
            now = timezone.now()
            new = [phone for phone in chunk if phone not in listed]
            DoNotCallEntry.objects.bulk_create(
                [
                    DoNotCallEntry(
                        tenant=tenant,
                        phone=phone,
                        reason=cleaned[phone],
                        source=source,
                        added_by=added_by,
                        added_at=now,
                    )
                    for phone in new
                ],
                batch_size=SQLITE_CHUNK // 8,
            )
            _leads_flag(
                tenant_id=tenant.pk,
                phones=new,
                flag=True,
                by=added_by,
                reasons=cleaned,
                source=source,
            )
        result.added += len(new)
        result.already_listed += len(chunk) - len(new)
    if result.added >= UPLOAD_CHUNK and connection.vendor == "postgresql":
        # Every batch of every import probes this list: let the planner know its new size now,
        # not whenever autovacuum gets to it (a stale estimate costs each probe a tenant scan).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DoNotCallEntry._meta.db_table}")
    return result


def dnc_entry_remove(
    *, entry: DoNotCallEntry, reason: Any, removed_by: User | None = None
) -> DoNotCallEntry:
    """Mark `entry` removed (who, when, why) and unflag its lead. Removing twice changes nothing."""
    reason = dnc_reason_clean(reason)
    with transaction.atomic():
        _list_writes_lock()
        entry = DoNotCallEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.removed_at is not None:
            return entry
        entry.removed_at = timezone.now()
        entry.removed_by = removed_by
        entry.removal_reason = reason
        entry.save(update_fields=["removed_at", "removed_by", "removal_reason"])
        _leads_flag(
            tenant_id=entry.tenant_id,
            phones=[entry.phone],
            flag=False,
            by=removed_by,
            reasons={entry.phone: reason},
        )
    return entry


# --- Reads ------------------------------------------------------------------------------------


def dnc_entry_list(*, tenant: User, search: str = "") -> QuerySet[DoNotCallEntry]:
    """Return the tenant's active entries, newest first; `search` matches the phone's digits."""
    entries = DoNotCallEntry.objects.filter(tenant=tenant, removed_at__isnull=True)
    digits = "".join(ch for ch in search if ch in "0123456789")
    if len(digits) >= MIN_SEARCH_DIGITS:
        entries = entries.filter(phone__contains=digits)
    return entries.select_related("added_by").order_by("-added_at", "-pk")


def dnc_entry_get(*, tenant: User, entry_id: int) -> DoNotCallEntry:
    """Return the tenant's entry (active or removed); another tenant's is as absent as none."""
    try:
        return DoNotCallEntry.objects.select_related("added_by", "removed_by").get(
            tenant=tenant, pk=entry_id
        )
    except DoNotCallEntry.DoesNotExist:
        raise Http404("No such do-not-call entry.") from None


def dnc_entry_for_phone(*, tenant: User, phone: str) -> DoNotCallEntry | None:
    """Return the active entry listing `phone`, if any (the lead page says when and why)."""
    if not phone:
        return None
    return (
        DoNotCallEntry.objects.select_related("added_by")
        .filter(tenant=tenant, phone=phone, removed_at__isnull=True)
        .first()
    )


AUDIT_COLUMNS = ("phone", "action", "reason", "source", "by", "at")


def dnc_audit_list(*, tenant: User) -> QuerySet:
    """Every addition and removal of the tenant's list, oldest first, as AUDIT_COLUMNS tuples."""
    entries = DoNotCallEntry.objects.filter(tenant=tenant).order_by()
    added = entries.annotate(
        action=Value("added"),
        why=F("reason"),
        by=Coalesce(F("added_by__username"), Value("")),
        at=F("added_at"),
    ).values_list("phone", "action", "why", "source", "by", "at")
    removed = (
        entries.filter(Q(removed_at__isnull=False))
        .annotate(
            action=Value("removed"),
            why=F("removal_reason"),
            by=Coalesce(F("removed_by__username"), Value("")),
            at=F("removed_at"),
        )
        .values_list("phone", "action", "why", "source", "by", "at")
    )
    return added.union(removed, all=True).order_by("at", "action")

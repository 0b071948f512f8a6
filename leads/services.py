"""Writes to leads. Each runs in a transaction and announces itself only after the commit."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Field, Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from leads.bounds import MAX_PRICE
from leads.errors import InvalidInput
from leads.events import (
    send_to_tenant,
    send_to_tenant_on_commit,
    session_group_name,
    sockets_close_on_commit,
    user_group_name,
)
from leads.models import (
    NEEDS_PHONE_OR_EMAIL,
    DoNotCallEntry,
    InvitePasscode,
    Lead,
    LeadStatus,
    has_phone_or_email,
)
from leads.normalize import time_zone_for
from leads.serializers import lead_resource
from leads.timeline import EventKind, changes_of, lead_event_record, vendor_fields

logger = logging.getLogger(__name__)

# Leads locked and changed per query when many are written at once.
BULK_CHUNK = 5000

UNIQUE_FIELD_BY_CONSTRAINT = {
    "lead_unique_tenant_phone": "phone",
    "lead_unique_tenant_email": "email",
    "lead_unique_tenant_nextgen_id": "nextgenId",
}


def lead_updated_event(lead: Lead, **extra: Any) -> dict[str, Any]:
    return {"type": "lead_updated", "lead": lead_resource(lead), **extra}


def _conflicting_field(error: IntegrityError) -> str:
    message = str(error)
    for constraint, field_name in UNIQUE_FIELD_BY_CONSTRAINT.items():
        if constraint in message:
            return field_name
    # SQLite names the columns, not the constraint.
    for column, field_name in (("phone", "phone"), ("email", "email"), ("nextgen_id", "nextgenId")):
        if f"leads_lead.{column}" in message:
            return field_name
    return "non_field_errors"


def lead_update(*, lead: Lead, changes: dict[str, Any], by: User | None = None) -> Lead:
    """Apply already-normalised `changes` (model field names) and tell the tenant's screens.

    A change that would give the lead another lead's phone or email is refused. Changes of
    status, disposition and notes go on the lead's timeline, old → new, with who made them.
    """
    if not changes:
        return lead
    old = {name: getattr(lead, name) for name in changes}
    for name, value in changes.items():
        setattr(lead, name, value)
    if "state" in changes or "phone" in changes:
        lead.time_zone = time_zone_for(lead.state, lead.phone)
    if not has_phone_or_email(lead.phone, lead.email):
        raise InvalidInput({"phone": [NEEDS_PHONE_OR_EMAIL]})
    try:
        with transaction.atomic():
            lead.save(update_fields=[*changes, "time_zone", "updated_at"])
            if "phone" in changes:
                was_listed = lead.do_not_call
                lead_do_not_call_refresh(lead)
                if lead.do_not_call != was_listed:
                    lead_event_record(
                        lead=lead,
                        kind=EventKind.DO_NOT_CALL_ADDED
                        if lead.do_not_call
                        else EventKind.DO_NOT_CALL_REMOVED,
                        at=clock(),
                        by=by,
                        data={"phone": lead.phone, "reason": "the phone changed"},
                    )
            if changed := changes_of(lead, old, changes):
                lead_event_record(
                    lead=lead, kind=EventKind.CHANGED, at=clock(), by=by, data=changed
                )
            send_to_tenant_on_commit(lead.tenant_id, lead_updated_event(lead))
    except IntegrityError as error:
        field = _conflicting_field(error)
        raise InvalidInput({field: ["Another lead of yours already has this value."]}) from None
    return lead


def agent_create(*, username: str, password: str, email: str = "", is_admin: bool = False) -> User:
    """Create an agent, the owner of one tenant; an admin agent is a staff superuser."""
    user_model = get_user_model()
    if is_admin:
        return user_model.objects.create_superuser(
            username=username, email=email, password=password
        )
    return user_model.objects.create_user(username=username, email=email, password=password)


# --- Upsert: the one merge rule for every door a lead comes in by ----------------------------

MATCH_FIELDS = ("nextgen_id", "phone", "email")
# What the agent sets on the desk: taken from a vendor only while still empty, never overwritten.
AGENT_FIELDS = ("status", "disposition", "notes")
PRICING_FIELDS = ("price", "product", "premium_price")
PREMIUM_PRODUCT = "ad"
ZERO = Decimal("0.00")


@dataclass
class LeadUpsertResult:
    lead: Lead
    is_new: bool
    changed_fields: list[str] = field(default_factory=list)


def price_total(base: Decimal, premium: Decimal) -> Decimal:
    """Return base + premium, capped at MAX_PRICE (the price column's largest value).

    Each part is bounded where it arrives, but only the merge knows the sum, and on the fast path
    it runs in the worker after the vendor was told the lead is safe: an acknowledged lead must
    still be stored, so the sum is capped, with a warning, rather than refused.
    """
    total = base + premium
    if total > MAX_PRICE:
        logger.warning(
            "lead price %s + premium %s passes the column: stored as %s", base, premium, MAX_PRICE
        )
        return MAX_PRICE
    return total


def premium_note(base: Decimal, premium: Decimal) -> str:
    total = min(base + premium, MAX_PRICE)
    capped = " (capped)" if total < base + premium else ""
    return (
        f"Premium listing applied: base ${base:.2f} + premium ${premium:.2f} = ${total:.2f}{capped}"
    )


def _append_note(notes: str, line: str) -> str:
    return f"{notes}\n{line}" if notes else line


def lead_merge(current: Mapping[str, Any] | None, incoming: Mapping[str, Any]) -> dict[str, Any]:
    """Return the field values to write for `incoming` onto the lead whose values are `current`.

    `current` is None for a new lead. Both map model field names to normalised values. Non-empty
    incoming values win, except the agent's own fields (status, disposition, notes), which are only
    filled while empty. A premium listing (product "ad") adds its price once, whichever of the
    ad and its data arrives first; the note records the sum.
    """
    if current is None:
        values = {k: v for k, v in incoming.items() if not is_empty(v)}
        if incoming.get("product") == PREMIUM_PRODUCT and incoming.get("price") is not None:
            values["premium_price"] = incoming["price"]
        return values

    changes: dict[str, Any] = {}
    for name, value in incoming.items():
        if is_empty(value) or name in PRICING_FIELDS:
            continue
        if name == "vendor_data":
            value = {**current.get("vendor_data", {}), **value}
        elif name in AGENT_FIELDS and current.get(name) not in EMPTY_AGENT_VALUES:
            continue
        if current.get(name) != value:
            changes[name] = value

    price = incoming.get("price")
    notes = changes.get("notes", current.get("notes", ""))
    if incoming.get("product") == PREMIUM_PRODUCT:
        if current.get("premium_price") is None and price is not None:
            base = current.get("price") or ZERO
            changes.update(premium_price=price, price=price_total(base, price))
            changes["notes"] = _append_note(notes, premium_note(base, price))
    elif incoming.get("product") == "data" and current.get("product") == PREMIUM_PRODUCT:
        # The data of a lead first seen as its premium listing: the data's price is the base.
        premium = current.get("premium_price") or ZERO
        base = price if price is not None else ZERO
        changes.update(product="data", price=price_total(base, premium))
        changes["notes"] = _append_note(notes, premium_note(base, premium))
    else:
        if current.get("price") is None and price is not None:
            changes["price"] = price
        if not current.get("product") and incoming.get("product"):
            changes["product"] = incoming["product"]
    return changes


def is_empty(value: Any) -> bool:
    """Whether `value` brings nothing: None, "", {} or []."""
    # Not `value in (None, "", {}, [])`, which compares every value with a dict and a list.
    return value is None or (not value and isinstance(value, str | dict | list))


EMPTY_AGENT_VALUES = (None, "", LeadStatus.NEW)


def _match(candidates: list[Lead], incoming: Mapping[str, Any]) -> Lead | None:
    for name in MATCH_FIELDS:
        value = incoming.get(name)
        if value:
            for lead in candidates:
                if getattr(lead, name) == value:
                    return lead
    return None


def _without_taken_keys(
    changes: dict[str, Any], lead: Lead, candidates: list[Lead]
) -> dict[str, Any]:
    """Drop a phone, email or NextGen id that another of the tenant's leads already holds."""
    for name in MATCH_FIELDS:
        if name in changes and any(
            other.pk != lead.pk and getattr(other, name) == changes[name] for other in candidates
        ):
            del changes[name]
    return changes


def _new_lead_values(incoming: Mapping[str, Any]) -> dict[str, Any]:
    values = lead_merge(None, incoming)
    # A NextGen id alone may update its lead, but cannot make one (lead_has_phone_or_email).
    if not has_phone_or_email(values.get("phone"), values.get("email")):
        raise InvalidInput({"phone": [NEEDS_PHONE_OR_EMAIL]})
    values["time_zone"] = time_zone_for(values.get("state", ""), values.get("phone", ""))
    return values


def _lead_insert(*, tenant_id: int, values: Mapping[str, Any]) -> Lead:
    """INSERT a new lead in one statement and return it; IntegrityError if a key is taken.

    `Lead.objects.create` compiles its SQL anew on every call, a fifth of the webhook's CPU at
    hundreds of leads a second; this statement is built once, and the fields still convert
    every value for the database. The lead's `do_not_call` is decided inside the statement, by
    one probe of the tenant's list, after the statement holds its lock (leads.dnc).
    """
    now = timezone.now()
    lead = Lead(tenant_id=tenant_id, created_at=now, updated_at=now, **values)
    connection = transaction.get_connection()
    params = []
    for column in _COLUMNS:
        if column.attname == "do_not_call":
            params += [tenant_id, lead.phone]
        else:
            params.append(column.get_db_prep_save(getattr(lead, column.attname), connection))
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        lead.pk, lead.do_not_call = cursor.fetchone()
    lead.do_not_call = bool(lead.do_not_call)  # SQLite answers 0 or 1
    lead._state.adding, lead._state.db = False, connection.alias
    return lead


_COLUMNS = [field for field in Lead._meta.concrete_fields if not field.primary_key]
# Whether the tenant lists this phone: the partial unique index of active entries answers it.
_LISTED_SQL = (
    f"EXISTS (SELECT 1 FROM {DoNotCallEntry._meta.db_table} "  # noqa: S608 - our names
    "WHERE tenant_id = %s AND phone = %s AND removed_at IS NULL)"
)
# Built from the model's own names only, never from input.
_INSERT_SQL = (
    "INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {pk}, do_not_call".format(  # noqa: S608
        table=Lead._meta.db_table,
        columns=", ".join(f'"{field.column}"' for field in _COLUMNS),
        values=", ".join(
            _LISTED_SQL if field.attname == "do_not_call" else "%s" for field in _COLUMNS
        ),
        pk=f'"{Lead._meta.pk.column}"',
    )
)
_REFRESH_SQL = (
    f"UPDATE {Lead._meta.db_table} SET do_not_call = {_LISTED_SQL} "  # noqa: S608 - our names
    "WHERE id = %s RETURNING do_not_call"
)


def lead_do_not_call_refresh(lead: Lead) -> None:
    """Set the flag of a lead whose phone just changed from the tenant's list.

    Call it after the lead's own UPDATE in the same transaction: that write holds the lock the
    list's writers wait for (leads.dnc), so this reads the list as it stands.
    """
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_REFRESH_SQL, [lead.tenant_id, lead.phone, lead.pk])
        lead.do_not_call = bool(cursor.fetchone()[0])


def lead_upsert(*, tenant_id: int, incoming: Mapping[str, Any]) -> LeadUpsertResult:
    """Store `incoming` (normalised model field values) as a new lead or merge it into a match.

    Matching goes by NextGen id, then phone, then email, within the tenant. Safe under concurrent
    deliveries of the same lead: the unique constraints decide, and the loser merges instead.
    """
    keys = Q()
    for name in MATCH_FIELDS:
        if incoming.get(name):
            keys |= Q(**{name: incoming[name]})
    if not keys:
        raise InvalidInput({"phone": [NEEDS_PHONE_OR_EMAIL]})

    can_be_new = has_phone_or_email(incoming.get("phone"), incoming.get("email"))
    if can_be_new and not transaction.get_connection().in_atomic_block:
        # Most deliveries are new leads. Outside a transaction the INSERT commits by itself:
        # one round trip instead of six. A unique key already taken means a match exists.
        values = _new_lead_values(incoming)
        try:
            inserted = _lead_insert(tenant_id=tenant_id, values=values)
            return LeadUpsertResult(lead=inserted, is_new=True, changed_fields=list(values))
        except IntegrityError:
            pass

    with transaction.atomic():
        for _attempt in range(3):
            candidates = list(
                Lead.objects.select_for_update().filter(keys, tenant_id=tenant_id).order_by("pk")
            )
            lead = _match(candidates, incoming)
            if lead is None:
                values = _new_lead_values(incoming)
                try:
                    with transaction.atomic():
                        lead = _lead_insert(tenant_id=tenant_id, values=values)
                except IntegrityError:
                    continue  # a concurrent delivery stored it first: merge into that one
                return LeadUpsertResult(lead=lead, is_new=True, changed_fields=list(values))

            current = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
            changes = _without_taken_keys(lead_merge(current, incoming), lead, candidates)
            if "state" in changes or "phone" in changes:
                changes["time_zone"] = time_zone_for(
                    changes.get("state", lead.state), changes.get("phone", lead.phone)
                )
            for name, value in changes.items():
                setattr(lead, name, value)
            if changes:
                lead.save(update_fields=[*changes, "updated_at"])
                if "phone" in changes:
                    lead_do_not_call_refresh(lead)
                lead_event_record(
                    lead=lead,
                    kind=EventKind.VENDOR_UPDATE,
                    at=lead.updated_at,
                    data={"door": incoming.get("source", ""), "fields": vendor_fields(changes)},
                )
            return LeadUpsertResult(lead=lead, is_new=False, changed_fields=list(changes))
    raise RuntimeError("lead_upsert could not settle a concurrent insert")


# --- Sign-up with an invite passcode ---------------------------------------------------------

SIGNUP_FAILURE_LIMIT = 5
SIGNUP_FAILURE_WINDOW = timedelta(minutes=15)


def clock() -> datetime:
    """The time the sign-up rules see; tests replace it to move time without sleeping."""
    return timezone.now()


class PasscodeRejected(Exception):
    """The passcode cannot be used: unknown, inactive, expired or used up (see `reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _passcode_refusal(code: str, now: datetime) -> str:
    passcode = InvitePasscode.objects.filter(code=code).first()
    if passcode is None or not passcode.active:
        return "This passcode is not valid."
    if passcode.expires_at is not None and passcode.expires_at <= now:
        return "This passcode has expired."
    return "This passcode has been used up."


def invite_passcode_redeem(*, code: str, now: datetime | None = None) -> InvitePasscode:
    """Use the passcode once, or raise PasscodeRejected.

    One conditional UPDATE decides, so two sign-ups racing for the last use cannot both win.
    """
    now = now or clock()
    code = code.strip().upper()
    usable = InvitePasscode.objects.filter(code=code, active=True, uses__lt=F("max_uses")).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if not usable.update(uses=F("uses") + 1):
        raise PasscodeRejected(_passcode_refusal(code, now))
    return InvitePasscode.objects.get(code=code)


def agent_sign_up(
    *, code: str, username: str, password: str, email: str = "", now: datetime | None = None
) -> User:
    """Create an agent with one use of the passcode; nothing is used if the agent is not made."""
    with transaction.atomic():
        invite_passcode_redeem(code=code, now=now)
        return agent_create(username=username, password=password, email=email)


def _signup_failures_key(client: str) -> str:
    return f"signup-passcode-failures:{client}"


def _recent_failures(client: str, now: datetime) -> list[float]:
    since = (now - SIGNUP_FAILURE_WINDOW).timestamp()
    return [moment for moment in cache.get(_signup_failures_key(client), []) if moment > since]


def signup_is_throttled(*, client: str, now: datetime | None = None) -> bool:
    """True once `client` (an address) had SIGNUP_FAILURE_LIMIT wrong codes in the window."""
    return len(_recent_failures(client, now or clock())) >= SIGNUP_FAILURE_LIMIT


def signup_failure_record(*, client: str, now: datetime | None = None) -> None:
    """Count one wrong passcode from `client`; each counts for SIGNUP_FAILURE_WINDOW.

    The read-then-write is not atomic across processes: under a race a client may get an extra
    try or two, which a throttle of five per quarter hour tolerates.
    """
    now = now or clock()
    failures = [*_recent_failures(client, now), now.timestamp()]
    cache.set(
        _signup_failures_key(client), failures, int(SIGNUP_FAILURE_WINDOW.total_seconds()) + 1
    )


def signup_failures_clear(*, client: str) -> None:
    """Forget the wrong passcodes of `client` (an operator lifting the throttle, or tests)."""
    cache.delete(_signup_failures_key(client))


def user_access_end(*, user_id: int) -> None:
    """End everything the user's old credentials opened: delete its API tokens now, close all
    its sockets once the surrounding transaction commits (password changed, user deactivated)."""
    Token.objects.filter(user_id=user_id).delete()
    sockets_close_on_commit([user_group_name(user_id)])


def session_access_end(*, session_key: str) -> None:
    """Close the sockets opened with this session (its user logged out of it)."""
    sockets_close_on_commit([session_group_name(session_key)])


# --- Taking writes back (an import's undo) -----------------------------------------------------

# Past this many, the deleted leads are announced by count only (`leads_deleted`): a dashboard
# shows a page of leads, and a hundred thousand events would only flood its socket.
DELETED_EVENTS_LIMIT = 1000


def lead_delete_unchanged(*, tenant_id: int, versions: Mapping[int, datetime]) -> list[int]:
    """Delete the tenant's leads among `versions` ({lead id: updated_at}) that still are at that
    version; return their ids. Tell the tenant's screens which leads went (`lead_deleted`)."""
    deleted: list[int] = []
    ids = list(versions)
    with transaction.atomic():
        for start in range(0, len(ids), BULK_CHUNK):
            chunk = ids[start : start + BULK_CHUNK]
            current = Lead.objects.select_for_update().filter(tenant_id=tenant_id, pk__in=chunk)
            unchanged = [
                pk for pk, at in current.values_list("pk", "updated_at") if at == versions[pk]
            ]
            Lead.objects.filter(tenant_id=tenant_id, pk__in=unchanged).delete()
            deleted += unchanged
        announced = deleted[:DELETED_EVENTS_LIMIT]
        transaction.on_commit(lambda: _announce_deleted(tenant_id, announced, len(deleted)))
    return deleted


def _announce_deleted(tenant_id: int, lead_ids: list[int], total: int) -> None:
    for lead_id in lead_ids:
        send_to_tenant(tenant_id, {"type": "lead_deleted", "leadId": lead_id})
    if total > len(lead_ids):
        send_to_tenant(tenant_id, {"type": "leads_deleted", "count": total})


def lead_restore_unchanged(
    *, tenant_id: int, restores: Mapping[int, tuple[datetime, Mapping[str, Any]]]
) -> list[int]:
    """Give the tenant's leads back old field values ({lead id: (updated_at, {field: value})}),
    each only if the lead is still at that version; return the ids restored. Values come as
    JSON gave them and are converted by the model's fields."""
    restored: list[int] = []
    ids = list(restores)
    with transaction.atomic():
        for start in range(0, len(ids), BULK_CHUNK):
            chunk = ids[start : start + BULK_CHUNK]
            for lead in Lead.objects.select_for_update().filter(tenant_id=tenant_id, pk__in=chunk):
                version, values = restores[lead.pk]
                if lead.updated_at != version:
                    continue
                for name, value in values.items():
                    # Restores hold the lead's own columns only, never a relation's reverse side.
                    model_field = cast(Field, Lead._meta.get_field(name))
                    setattr(lead, model_field.attname, model_field.to_python(value))
                lead.save(update_fields=[*values, "updated_at"])
                send_to_tenant_on_commit(tenant_id, lead_updated_event(lead))
                restored.append(lead.pk)
    return restored

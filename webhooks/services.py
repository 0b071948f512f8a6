import hashlib
import hmac
import logging
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from leads.bulk import IMPORTED, lead_bulk_upsert
from leads.events import send_to_tenant
from leads.models import Lead, LeadSource
from leads.serializers import lead_resource
from leads.services import MATCH_FIELDS, LeadUpsertResult, lead_upsert
from webhooks import metrics
from webhooks.models import NextGenCredential

logger = logging.getLogger("crokodial.webhooks")


class CredentialExists(Exception):
    """The agent already has active credentials and no rotation was asked for."""


def api_key_hash(api_key: str) -> str:
    # The key is 32 random bytes, so a fast digest is as safe as a slow one and keeps the
    # webhook's hot path cheap.
    return hashlib.sha256(api_key.encode()).hexdigest()


def nextgen_credential_issue(
    *, tenant: User, rotate: bool = False, sid: str = "", api_key: str = ""
) -> tuple[NextGenCredential, str]:
    """Create the tenant's webhook credentials and return them with the plain api key.

    With `rotate`, the active pair stops working at once and a new pair replaces it.
    The plain key exists only in the return value: it is stored as a hash.
    """
    with transaction.atomic():
        active = NextGenCredential.objects.select_for_update().filter(tenant=tenant, is_active=True)
        if active.exists():
            if not rotate:
                raise CredentialExists(f"{tenant} already has NextGen credentials")
            retired = list(active.values_list("sid", "key_hash"))
            active.update(is_active=False, rotated_at=timezone.now())
            _credential_cache.clear()
            transaction.on_commit(lambda: nextgen_credentials_forget(pairs=retired))
        api_key = api_key or secrets.token_urlsafe(32)
        credential = NextGenCredential.objects.create(
            tenant=tenant,
            sid=sid or f"ng_{secrets.token_hex(8)}",
            key_hash=api_key_hash(api_key),
        )
    return credential, api_key


def nextgen_credential_tenant(*, sid: str, api_key: str) -> int | None:
    """Return the tenant id owning this active sid/apikey pair, or None."""
    if not sid or not api_key:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_CREDENTIAL_SQL, [sid])
        row = cursor.fetchone()
    # Hash even when the sid is unknown, so timing does not tell which sids exist.
    presented = api_key_hash(api_key)
    if row is None:
        hmac.compare_digest(presented, presented)
        return None
    tenant_id, key_hash = row
    return tenant_id if hmac.compare_digest(presented, key_hash) else None


# Every webhook call runs this lookup: a fixed statement costs a fraction of a queryset's compile.
_ACTIVE_CREDENTIAL_SQL = (
    f"SELECT tenant_id, key_hash FROM {NextGenCredential._meta.db_table} "  # noqa: S608
    "WHERE sid = %s AND is_active"
)


@dataclass
class NextGenDelivery:
    """One webhook call, as it travels from the request to the agent's screen."""

    tenant_id: int
    fields: dict[str, Any]
    trace_id: str
    received_at: float = field(default_factory=time.perf_counter)
    stub_id: str = ""
    result: LeadUpsertResult | None = None
    process_ms: float = 0.0


def elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def nextgen_lead_receive(*, delivery: NextGenDelivery) -> NextGenDelivery:
    """Store the delivered lead (or merge it into its match) and, once committed, push it to
    the tenant's screens as `new_lead_notification` (or `lead_updated` for a queued stub that
    turned out to be a known lead)."""
    delivery.result = lead_upsert(tenant_id=delivery.tenant_id, incoming=delivery.fields)
    # Runs at once when the upsert committed by itself, or when the caller's transaction commits.
    transaction.on_commit(lambda: _announce(delivery))
    return delivery


def _announce(delivery: NextGenDelivery) -> None:
    delivery.process_ms = elapsed_ms(delivery.received_at)
    result = delivery.result
    assert result is not None  # stored before the commit that announces it
    event: dict[str, Any] = {"lead": lead_resource(result.lead), "traceId": delivery.trace_id}
    if delivery.stub_id:
        event["stubId"] = delivery.stub_id
    if result.is_new or not delivery.stub_id:
        event.update(
            type="new_lead_notification", isNew=result.is_new, processMs=delivery.process_ms
        )
    else:
        event["type"] = "lead_updated"
    if delivery.stub_id:
        logger.info(
            "nextgen_lead_stored",
            extra={
                "trace_id": delivery.trace_id,
                "tenant": delivery.tenant_id,
                "lead_id": result.lead.pk,
                "is_new": result.is_new,
                "persisted_ms": delivery.process_ms,
            },
        )
    send_to_tenant(delivery.tenant_id, event, on_sent=lambda: _announced(delivery))


def _announced(delivery: NextGenDelivery) -> None:
    seconds = time.perf_counter() - delivery.received_at
    if delivery.stub_id:  # the worker stored a queued lead
        metrics.PERSISTED.inc()
        metrics.STUB_TO_PERSISTED_SECONDS.observe(seconds)
    else:
        metrics.BROADCAST_SECONDS.labels("default").observe(seconds)


# --- Fast path (USE_FAST_PATH=1) -----------------------------------------------------------

CREDENTIAL_CACHE_SECONDS = 2.0
_credential_cache: dict[tuple[str, str], tuple[int | None, float]] = {}
# The last answer the database gave for each pair that was valid, kept in the cache (Redis) so
# the fast path goes on queueing while the database is down, in every process, including one
# started during the outage (docs/failures.md). Stored under a digest of the sid and the key's
# hash, never the key. Retiring a pair deletes its copy (rotation, the admin, or the database
# refusing it), so a retired pair stops during an outage too. The dict only remembers when this
# process last wrote each copy, to write it once a minute rather than on every delivery.
_last_known_good: dict[tuple[str, str], tuple[int, float]] = {}
LAST_KNOWN_GOOD_REFRESH_SECONDS = 60.0
LAST_KNOWN_GOOD_CACHE_SECONDS = 30 * 24 * 3600


def _last_known_good_key(sid: str, key_hash: str) -> str:
    return "nextgen-credential:" + hashlib.sha256(f"{sid}\0{key_hash}".encode()).hexdigest()


def _last_known_good_remember(key: tuple[str, str], tenant_id: int | None, now: float) -> None:
    if tenant_id is None:
        # Unknown, or retired by any means: no copy may vouch for it during an outage.
        _last_known_good.pop(key, None)
        try:
            cache.delete(_last_known_good_key(*key))
        except Exception:
            logger.warning("could not forget a refused credential in the cache")
        return
    written = _last_known_good.get(key)
    if written is not None and written[0] == tenant_id and written[1] > now:
        return
    if len(_last_known_good) > 10_000:
        _last_known_good.clear()
    _last_known_good[key] = (tenant_id, now + LAST_KNOWN_GOOD_REFRESH_SECONDS)
    try:
        cache.set(_last_known_good_key(*key), tenant_id, LAST_KNOWN_GOOD_CACHE_SECONDS)
    except Exception:  # Redis down: the fast path cannot queue anyway
        logger.warning("could not keep the last known good credential in the cache")


def nextgen_credentials_forget(*, pairs: list[tuple[str, str]]) -> None:
    """Delete the outage copies of these (sid, key hash) pairs: they no longer authenticate."""
    for pair in pairs:
        _credential_cache.pop(pair, None)
        _last_known_good.pop(pair, None)
    try:
        cache.delete_many([_last_known_good_key(sid, key_hash) for sid, key_hash in pairs])
    except Exception:
        logger.warning("could not forget a retired credential in the cache")


def _last_known_good_tenant(key: tuple[str, str]) -> int | None:
    try:
        return cache.get(_last_known_good_key(*key))
    except Exception:  # Redis down too: nothing to go on
        return None


def nextgen_credential_tenant_cached(*, sid: str, api_key: str) -> int | None:
    """`nextgen_credential_tenant`, remembered for a couple of seconds per process.

    A rotated or deactivated pair stops working within CREDENTIAL_CACHE_SECONDS everywhere, and
    at once in the process that rotated it. While the database cannot be reached, a pair it
    last confirmed keeps working; an unknown pair re-raises the database's error.
    """
    key = (sid, api_key_hash(api_key))
    now = time.monotonic()
    cached = _credential_cache.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    try:
        tenant_id = nextgen_credential_tenant(sid=sid, api_key=api_key)
    except (OperationalError, InterfaceError):
        known = _last_known_good_tenant(key) if sid and api_key else None
        if known is None:
            raise
        return known
    if len(_credential_cache) > 10_000:
        _credential_cache.clear()
    _credential_cache[key] = (tenant_id, now + CREDENTIAL_CACHE_SECONDS)
    _last_known_good_remember(key, tenant_id, now)
    return tenant_id


def nextgen_stub_event(*, stub_id: str, fields: dict[str, Any], trace_id: str) -> dict[str, Any]:
    name = f"{fields.get('first_name', '')} {fields.get('last_name', '')}".strip()
    return {
        "type": "lead_stub",
        "stubId": stub_id,
        "lead": {
            "name": name,
            "phone": fields.get("phone", ""),
            "source": fields["source"],
            "nextgenId": fields.get("nextgen_id", ""),
        },
        "traceId": trace_id,
    }


def nextgen_leads_receive(*, deliveries: Sequence[NextGenDelivery]) -> None:
    """`nextgen_lead_receive` for each delivery, in one transaction: one commit for the batch,
    and each lead announced once it is committed. All or nothing.

    Deliveries sure to make a new lead (no key of theirs is held by a stored lead of the tenant
    or by another delivery of the batch) are written together by `lead_bulk_upsert`; the others
    go through `lead_upsert` one by one, in order. Either way the one merge rule decides.
    """
    if len(deliveries) == 1:
        nextgen_lead_receive(delivery=deliveries[0])
        return
    with transaction.atomic():
        new_by_tenant = _new_leads_by_tenant(deliveries)
        new = {id(delivery) for tenant_new in new_by_tenant.values() for delivery in tenant_new}
        for delivery in deliveries:
            if id(delivery) not in new:
                nextgen_lead_receive(delivery=delivery)
        for tenant_id, tenant_new in new_by_tenant.items():
            _new_leads_store(tenant_id=tenant_id, deliveries=tenant_new)


def _lead_keys(delivery: NextGenDelivery) -> list[tuple[int, str, Any]]:
    fields = delivery.fields
    return [(delivery.tenant_id, name, fields[name]) for name in MATCH_FIELDS if fields.get(name)]


def _new_leads_by_tenant(
    deliveries: Sequence[NextGenDelivery],
) -> defaultdict[int, list[NextGenDelivery]]:
    shared = Counter(key for delivery in deliveries for key in _lead_keys(delivery))
    candidates: defaultdict[int, list[NextGenDelivery]] = defaultdict(list)
    for delivery in deliveries:
        can_be_new = delivery.fields.get("phone") or delivery.fields.get("email")
        if can_be_new and all(shared[key] == 1 for key in _lead_keys(delivery)):
            candidates[delivery.tenant_id].append(delivery)
    new_by_tenant: defaultdict[int, list[NextGenDelivery]] = defaultdict(list)
    for tenant_id, tenant_candidates in candidates.items():
        held = {
            (tenant_id, name, value)
            for lead in Lead.objects.filter(
                _any_key_of(tenant_candidates), tenant_id=tenant_id
            ).values_list(*MATCH_FIELDS)
            for name, value in zip(MATCH_FIELDS, lead, strict=True)
        }
        new_by_tenant[tenant_id] = [
            delivery
            for delivery in tenant_candidates
            if not any(key in held for key in _lead_keys(delivery))
        ]
    return new_by_tenant


def _any_key_of(deliveries: list[NextGenDelivery]) -> Q:
    keys = Q()
    for name in MATCH_FIELDS:
        values = [delivery.fields[name] for delivery in deliveries if delivery.fields.get(name)]
        if values:
            keys |= Q(**{f"{name}__in": values})
    return keys


def _new_leads_store(*, tenant_id: int, deliveries: list[NextGenDelivery]) -> None:
    if not deliveries:
        return
    written = lead_bulk_upsert(
        tenant_id=tenant_id,
        rows=[delivery.fields for delivery in deliveries],
        source=LeadSource.NEXTGEN,
    )
    # Each of these leads holds its delivery's keys and no other delivery's.
    stored = {
        (name, getattr(lead, name)): lead
        for lead in Lead.objects.filter(_any_key_of(deliveries), tenant_id=tenant_id)
        for name in MATCH_FIELDS
        if getattr(lead, name)
    }
    for delivery, outcome in zip(deliveries, written.outcomes, strict=True):
        lead = next(
            stored[(name, delivery.fields[name])]
            for name in MATCH_FIELDS
            if (name, delivery.fields.get(name)) in stored
        )
        delivery.result = LeadUpsertResult(
            lead=lead, is_new=outcome == IMPORTED, changed_fields=list(delivery.fields)
        )
        transaction.on_commit(partial(_announce, delivery))

"""The fast-path switch: flipped at run time for every web process, without a restart.

A flip is a `FastPathChange` row (who, when) and a copy of its value in the cache (Redis when
REDIS_URL is set), which every process reads. The webhook asks `fast_path_enabled()` on each
call: it answers from memory, and looks again at most once every REFRESH_SECONDS. While the
cache and the database are both unreachable it keeps the last value it knew, so the fast path
goes on absorbing a database outage. Until the first flip, USE_FAST_PATH decides.
docs/operations.md, "Rolling the fast path out and back".
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from webhooks.models import FastPathChange

logger = logging.getLogger("crokodial.webhooks")

CACHE_KEY = "webhooks:fast_path"
REFRESH_SECONDS = 1.0

# (value, monotonic time it was read, the USE_FAST_PATH it was read under)
_known: tuple[bool, float, bool] | None = None


def fast_path_enabled() -> bool:
    """Return whether the webhook queues leads (the fast path) right now."""
    known = _known
    if (
        known is not None
        and time.monotonic() - known[1] < REFRESH_SECONDS
        and known[2] == settings.USE_FAST_PATH
    ):
        return known[0]
    return _refresh(known)


def _refresh(known: tuple[bool, float, bool] | None) -> bool:
    global _known
    starting = settings.USE_FAST_PATH
    try:
        value = _read()
    except Exception as error:  # Redis and PostgreSQL both away: keep what we knew
        logger.warning("fast path switch not read, keeping the last value: %s", error)
        value = known[0] if known is not None and known[2] == starting else starting
    _known = (value, time.monotonic(), starting)
    return value


def _read() -> bool:
    try:
        cached = cache.get(CACHE_KEY)
    except Exception as error:
        logger.warning("fast path switch: cache unreachable, reading the database: %s", error)
        cached = None
    if cached is not None:
        return bool(cached)
    latest = FastPathChange.objects.order_by("-changed_at", "-id").only("enabled").first()
    if latest is None:
        return settings.USE_FAST_PATH
    _cache_write(latest.enabled)
    return latest.enabled


def _cache_write(enabled: bool | None) -> None:
    try:
        if enabled is None:
            cache.delete(CACHE_KEY)
        else:
            cache.set(CACHE_KEY, enabled, timeout=None)
    except Exception as error:  # the next read goes to the database instead
        logger.warning("fast path switch: cache not written: %s", error)


def fast_path_set(*, enabled: bool, changed_by: str) -> FastPathChange:
    """Turn the fast path on or off for every web process (within REFRESH_SECONDS)."""
    global _known
    with transaction.atomic():
        change = FastPathChange.objects.create(enabled=enabled, changed_by=changed_by[:200])
        # Gone now, so that nobody reads the old value from it; the new one once committed.
        _cache_write(None)
        transaction.on_commit(lambda: _cache_write(enabled))
    _known = None
    logger.info("fast_path_changed", extra={"enabled": enabled, "changed_by": change.changed_by})
    return change


def fast_path_forget() -> None:
    """Forget the value read, in this process and in the cache (tests start afresh)."""
    global _known
    _known = None
    _cache_write(None)

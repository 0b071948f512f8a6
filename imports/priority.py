"""Imports give way to hot leads: between batches, a run pauses while fast-path leads wait.

A worker's niceness reaches its own Python, not the PostgreSQL backend that stores its batches,
so on a machine whose cores are all busy an import still slows the leads worker down. Before
each batch the run asks `settings.IMPORT_HOT_WORK_CHECK` (a dotted path: imports/ cannot import
crokodial/, which measures the broker's queues) whether leads are waiting, and while they are
it sleeps in steps of IMPORT_YIELD_STEP_SECONDS, at most IMPORT_YIELD_MAX_SECONDS per batch, so
an import is slowed, never starved (its lease is renewed by its own heartbeat meanwhile).
The check never fails an import: any error counts as "nothing waiting".
docs/operations.md, "Queues".
"""

import logging
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

IMPORT_YIELD_STEP_SECONDS = 0.05


@cache
def _check(path: str) -> Callable[[], bool]:
    return import_string(path)


def hot_work_waiting() -> bool:
    """Whether hot work (fast-path leads) waits for the workers; False when nobody can tell."""
    path = getattr(settings, "IMPORT_HOT_WORK_CHECK", "")
    if not path:
        return False
    try:
        return bool(_check(path)())
    except Exception as error:
        logger.debug("hot work not measured: %s", error)
        return False


def yield_to_hot_work(
    *,
    waiting: Callable[[], bool] = hot_work_waiting,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    step: float = IMPORT_YIELD_STEP_SECONDS,
    cap: float | None = None,
) -> float:
    """Pause while `waiting()` says hot work waits, up to `cap` seconds; return the time waited."""
    cap = settings.IMPORT_YIELD_MAX_SECONDS if cap is None else cap
    start = clock()
    while True:
        waited = clock() - start
        if waited >= cap:
            return waited
        try:
            busy = waiting()
        except Exception:  # never fail an import over a measurement
            busy = False
        if not busy:
            return waited
        sleep(min(step, cap - waited))

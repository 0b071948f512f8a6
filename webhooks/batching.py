"""Group commit: many threads hand in one item each, and whoever finds no batch running runs
one for everyone waiting.

The fast path's Celery worker runs one task per queued lead on a thread pool. Each task hands
its lead to a `GroupCommit` and blocks until the batch holding it has committed; only then does
the task return and Celery acknowledge its message (acks_late). A lone task is a batch of one,
so a quiet worker stores each lead as soon as it arrives; under a backlog the leads waiting in
the pool's threads share one transaction and one commit.
"""

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")


class BatchFailed(Exception):
    """The batch holding this item raised; nothing of it was committed."""


class _Entry(Generic[Item]):
    __slots__ = ("done", "error", "item", "ready")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.error: BaseException | None = None
        # Set once the item's batch has run, or earlier when this thread is to lead.
        self.ready = threading.Event()


class GroupCommit(Generic[Item]):
    """Run `run_batch` over the items handed in by `submit`, at most `max_size` at a time.

    `run_batch` must be all-or-nothing (one transaction): if it raises, every item of the
    batch gets `BatchFailed` and nothing of the batch is stored.
    """

    def __init__(self, run_batch: Callable[[Sequence[Item]], None], *, max_size: int) -> None:
        self._run_batch = run_batch
        self._max_size = max_size
        self._lock = threading.Lock()
        self._waiting: list[_Entry[Item]] = []
        self._leading = False

    def submit(self, item: Item) -> None:
        """Return once `item` is stored, or raise BatchFailed if its batch failed."""
        entry = _Entry(item)
        with self._lock:
            self._waiting.append(entry)
            follow, self._leading = self._leading, True
        if follow:
            entry.ready.wait()
        if not entry.done:
            self._lead(entry)
        if entry.error is not None:
            raise BatchFailed from entry.error

    def _lead(self, entry: _Entry[Item]) -> None:
        try:
            # Serve the oldest waiting items until this thread's own item is done ...
            while not entry.done:
                with self._lock:
                    batch = self._waiting[: self._max_size]
                    del self._waiting[: self._max_size]
                self._run(batch)
        finally:
            # ... then hand over to the oldest waiting thread, whose item is not done yet.
            with self._lock:
                if self._waiting:
                    self._waiting[0].ready.set()
                else:
                    self._leading = False

    def _run(self, batch: list[_Entry[Item]]) -> None:
        error = None
        try:
            self._run_batch([entry.item for entry in batch])
        except BaseException as exc:  # each item's own task decides what to do
            error = exc
        for entry in batch:
            entry.error, entry.done = error, True
            entry.ready.set()
        if error is not None and not isinstance(error, Exception):
            raise error

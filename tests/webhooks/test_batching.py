"""GroupCommit: items handed in by many threads are run in batches, each all or nothing."""

import threading
from collections.abc import Sequence

import pytest

from tests.helpers import wait_for
from webhooks.batching import BatchFailed, GroupCommit

TIMEOUT = 10  # a ceiling for each expected step, not a measured delay


class Recorder:
    """A run_batch that records each batch and holds the first one until released."""

    def __init__(self, *, fail_on: str = "") -> None:
        self.batches: list[list[str]] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: Sequence[str]) -> None:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self.release_first.wait(TIMEOUT)
        if self.fail_on in items:
            raise RuntimeError(f"{self.fail_on} cannot be stored")


def _submit_in_thread(group: GroupCommit, item: str, outcomes: dict) -> threading.Thread:
    def submit() -> None:
        try:
            group.submit(item)
            outcomes[item] = "stored"
        except BatchFailed:
            outcomes[item] = "failed"

    thread = threading.Thread(target=submit)
    thread.start()
    return thread


def _run_while_first_batch_is_held(recorder: Recorder, group: GroupCommit, later: list[str]):
    outcomes: dict[str, str] = {}
    threads = [_submit_in_thread(group, "first", outcomes)]
    assert recorder.first_started.wait(TIMEOUT)
    threads += [_submit_in_thread(group, item, outcomes) for item in later]
    assert wait_for(lambda: len(group._waiting) == len(later), TIMEOUT, poll=0.001)
    recorder.release_first.set()
    for thread in threads:
        thread.join(TIMEOUT)
    return outcomes


def test_a_lone_item_is_a_batch_of_one():
    recorder = Recorder()
    recorder.release_first.set()

    GroupCommit(recorder, max_size=10).submit("only")

    assert recorder.batches == [["only"]]


def test_items_waiting_while_a_batch_runs_share_the_next_batch_in_order():
    recorder = Recorder()
    group = GroupCommit(recorder, max_size=10)

    outcomes = _run_while_first_batch_is_held(recorder, group, ["a", "b", "c"])

    assert recorder.batches == [["first"], ["a", "b", "c"]]
    assert outcomes == dict.fromkeys(["first", "a", "b", "c"], "stored")


def test_a_batch_holds_at_most_max_size_items():
    recorder = Recorder()
    group = GroupCommit(recorder, max_size=2)

    _run_while_first_batch_is_held(recorder, group, ["a", "b", "c"])

    assert recorder.batches == [["first"], ["a", "b"], ["c"]]


def test_a_failed_batch_fails_each_of_its_items_and_no_other():
    recorder = Recorder(fail_on="bad")
    group = GroupCommit(recorder, max_size=2)

    outcomes = _run_while_first_batch_is_held(recorder, group, ["a", "bad", "c"])

    assert recorder.batches == [["first"], ["a", "bad"], ["c"]]
    assert outcomes == {"first": "stored", "a": "failed", "bad": "failed", "c": "stored"}
    group.submit("after")
    assert recorder.batches[-1] == ["after"]


@pytest.mark.parametrize("threads", [2, 16])
def test_every_item_of_many_threads_is_run_exactly_once(threads):
    stored: list[int] = []
    group = GroupCommit(stored.extend, max_size=5)

    workers = [
        threading.Thread(target=lambda n=n: [group.submit(n * 100 + i) for i in range(50)])
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)

    assert sorted(stored) == sorted(n * 100 + i for n in range(threads) for i in range(50))

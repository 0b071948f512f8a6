"""The Procfile's `worker:`: two Celery worker processes, one per kind of work, as one process.

Fast-path leads and imports have queues of their own (crokodial.queues) and must not share a
process: an import holds the interpreter lock for tens of milliseconds at a time, and the
leads waiting behind it would wait too. The contract names one `worker:` process type, so this
starts both Celery workers, forwards the signals a process manager sends, and exits as soon as
either worker does, so the manager restarts the pair. The children die with this process even
when it is killed outright (PR_SET_PDEATHSIG). docs/operations.md, "Queues".

    python -m crokodial.workers
"""

import ctypes
import os
import signal
import subprocess
import sys
import time

from crokodial.queues import DEFAULT_QUEUE, IMPORTS_QUEUE, LEADS_QUEUE

COMMON = ["--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
WORKERS = {
    # The leads worker consumes its one queue only: kombu's Redis transport, consuming two
    # queues, picked up a fast-path lead up to a second late (docs/benchmarks.md, "Fast path at
    # 200 leads/s on a quiet machine"). The default queue, which no task of ours is routed to,
    # goes with the imports, where a second does not matter.
    "leads": ["--queues", LEADS_QUEUE, "--hostname", "leads@%h"],
    "imports": [
        "--queues",
        f"{IMPORTS_QUEUE},{DEFAULT_QUEUE}",
        "--concurrency",
        "2",
        "--hostname",
        "imports@%h",
    ],
}
# Separate processes are not enough on a machine whose cores are all busy: the imports worker
# runs at a lower priority, so the scheduler gives the CPU to the leads worker (and the web
# processes) first and an import takes what is left (docs/benchmarks.md, "with an import").
NICENESS = {"leads": 0, "imports": 10}
PR_SET_PDEATHSIG = 1
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _child_setup(kind: str):
    def setup() -> None:
        _die_with_parent()
        if NICENESS[kind]:
            os.nice(NICENESS[kind])

    return setup


def worker_command(kind: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "crokodial", "worker", *WORKERS[kind], *COMMON]


def main() -> int:
    children = [
        subprocess.Popen(worker_command(kind), preexec_fn=_child_setup(kind)) for kind in WORKERS
    ]

    def forward(signum: int, frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    # One has stopped: stop the other (warm shutdown first) and report the first's status.
    status = next(child.returncode for child in children if child.poll() is not None)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 30
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
    sys.exit(main())

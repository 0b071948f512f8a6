"""One scrape for every process on the machine: the web processes and the worker.

With `PROMETHEUS_MULTIPROC_DIR` set (the Procfile sets it), every process writes its series
into files there (prometheus_client's multiprocess mode) and `/metrics`, whichever web process
answers it, adds up the files of all of them. Without it (the embedded default, one process)
each process serves its own registry.

Each file is named after its process and the process's parent, the supervisor that restarts it
(uvicorn's for the web workers). Files of a dead process are kept while its parent lives, so its
counts stay in the totals and no counter goes backwards; a dead process's live gauges (open
sockets) are dropped. Once the parent is gone too, the whole group was restarted, and its files
are removed: counters then start again, as after any restart. docs/operations.md, "Metrics".
"""

import contextlib
import glob
import os
import threading

from prometheus_client import CollectorRegistry, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def _process_identifier() -> str:
    return f"{os.getppid()}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _file_owner(path: str) -> tuple[int, int] | None:
    """(parent pid, pid) from a file name like `counter_12-34.db` or `gauge_livesum_12-34.db`."""
    identifier = os.path.basename(path).removesuffix(".db").rsplit("_", 1)[-1]
    parent, _, pid = identifier.partition("-")
    if not (parent.isdigit() and pid.isdigit()):
        return None
    return int(parent), int(pid)


def metrics_files_tidy(directory: str) -> list[str]:
    """Remove the files of restarted process groups and the live gauges of dead processes;
    return the files left."""
    kept = []
    for path in glob.glob(os.path.join(directory, "*.db")):
        owner = _file_owner(path)
        if owner is None:
            kept.append(path)
            continue
        parent, pid = owner
        if _alive(pid):
            kept.append(path)
        elif not _alive(parent):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        elif os.path.basename(path).startswith("gauge_live"):
            mark_process_dead(f"{parent}-{pid}", directory)
        else:
            kept.append(path)
    return kept


def multiprocess_metrics_start() -> None:
    """Make this process write its series into the shared directory. Call it before any metric
    is created (the `crokodial` package does, first thing)."""
    if not MULTIPROCESS_DIR:
        return
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)
    metrics_files_tidy(MULTIPROCESS_DIR)
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)


class _MachineCollector(MultiProcessCollector):
    def collect(self):
        return self.merge(metrics_files_tidy(self._path), accumulate=True)


# Series read from the database or the broker when scraped, once for the machine.
SCRAPE_TIME_COLLECTORS = [
    "webhooks.metrics.OpenDeadLettersCollector",
    "crokodial.queues.QueueCollector",
]
_single_process_ready = False
_single_process_lock = threading.Lock()


def _scrape_time_collectors() -> list:
    from django.utils.module_loading import import_string

    return [import_string(path)() for path in SCRAPE_TIME_COLLECTORS]


def metrics_registry():
    """The registry `/metrics` serves."""
    global _single_process_ready
    from prometheus_client import REGISTRY

    if not MULTIPROCESS_DIR:
        with _single_process_lock:
            if not _single_process_ready:
                for collector in _scrape_time_collectors():
                    REGISTRY.register(collector)
                _single_process_ready = True
        return REGISTRY
    registry = CollectorRegistry()
    _MachineCollector(registry, path=MULTIPROCESS_DIR)
    for collector in _scrape_time_collectors():
        registry.register(collector)
    return registry

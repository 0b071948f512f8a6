import logging
import os
import threading

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_failure,
    task_retry,
    task_revoked,
    task_success,
    worker_ready,
    worker_shutting_down,
)
from prometheus_client import Counter

from crokodial.queues import message_stamp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")

app = Celery("crokodial")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)
_stopping = threading.Event()

TASKS = Counter(
    "crokodial_tasks_total",
    "Celery tasks run by the worker, by task name and outcome (succeeded, failed, retried, "
    "revoked). A fast-path lead republished while the database is away counts as retried.",
    ["task", "outcome"],
)


@before_task_publish.connect
def _stamp_message(headers: dict | None = None, **kwargs) -> None:
    if headers is not None:
        message_stamp(headers)


@task_success.connect
def _count_success(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "succeeded").inc()


@task_failure.connect
def _count_failure(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "failed").inc()


@task_retry.connect
def _count_retry(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "retried").inc()


@task_revoked.connect
def _count_revoked(sender=None, **kwargs) -> None:
    TASKS.labels(getattr(sender, "name", "unknown"), "revoked").inc()


def _watch_import_leases() -> None:
    """Queue again the imports whose worker died: at start, then every lease check period.

    There is no beat process: every worker watches, and the check is safe to run concurrently.
    """
    from django.conf import settings
    from django.db import connection

    from imports.services import import_leases_recover

    while True:
        try:
            import_leases_recover()
        except Exception:
            logger.exception("import lease check failed; trying again later")
        finally:
            connection.close()
        if _stopping.wait(settings.IMPORT_LEASE_CHECK_SECONDS):
            return


@worker_ready.connect
def _start_lease_watch(**kwargs) -> None:
    threading.Thread(target=_watch_import_leases, name="import-lease-watch", daemon=True).start()


@worker_ready.connect
def _start_follow_up_scheduler(**kwargs) -> None:
    """Ring due follow-ups (leads/followups.py). Both workers of the pair run one: each
    follow-up is claimed by a conditional UPDATE, so it is still sent once, and either worker
    alone keeps follow-ups coming."""
    from leads.followups import follow_up_scheduler_run

    threading.Thread(
        target=follow_up_scheduler_run, args=(_stopping,), name="follow-ups", daemon=True
    ).start()


@worker_shutting_down.connect
def _stop_waiting(**kwargs) -> None:
    from webhooks.tasks import retries_stop_waiting

    _stopping.set()
    retries_stop_waiting()

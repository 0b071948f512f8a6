# First, before any metric exists: with PROMETHEUS_MULTIPROC_DIR, series go to shared files.
from .metrics import multiprocess_metrics_start

multiprocess_metrics_start()

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)

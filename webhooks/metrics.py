"""Prometheus series of the NextGen intake, served at /metrics (docs/operations.md, "Metrics").

`path` is `default` (stored during the request) or `fast` (queued, stored by the worker).
Dead letters tell one story in two series: `crokodial_webhook_dead_letters_total` counts each
time the worker records one (its rate), `crokodial_webhook_dead_letters_open` is how many wait
for staff now (read from the database when scraped; what the alert watches).
"""

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PERSISTED_BUCKETS = (*LATENCY_BUCKETS, 10.0, 30.0, 60.0, 300.0)

PROCESS_SECONDS = Histogram(
    "crokodial_webhook_process_seconds",
    "NextGen webhook: request received to response ready.",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
BROADCAST_SECONDS = Histogram(
    "crokodial_webhook_broadcast_seconds",
    "NextGen webhook: request received to its event (the lead, or on the fast path its stub) "
    "handed to the channel layer.",
    ["path"],
    buckets=LATENCY_BUCKETS,
)
STUB_TO_PERSISTED_SECONDS = Histogram(
    "crokodial_webhook_stub_to_persisted_seconds",
    "Fast path: request received (its stub shown) to the stored lead's event handed to the "
    "channel layer by the worker.",
    buckets=PERSISTED_BUCKETS,
)
DELIVERIES = Counter(
    "crokodial_webhook_deliveries_total",
    "NextGen webhook calls by outcome (created, updated, queued, rejected, unavailable) and path.",
    ["outcome", "path"],
)
PERSISTED = Counter(
    "crokodial_webhook_persisted_total",
    "Fast path: queued leads the worker stored (new or merged).",
)
DEAD_LETTERS = Counter(
    "crokodial_webhook_dead_letters_total",
    "Queued fast-path leads a worker could not store and recorded as dead letters.",
)


class OpenDeadLettersCollector:
    """`crokodial_webhook_dead_letters_open`: dead letters waiting for staff, read at scrape
    time from the database, so every web process reports them whatever process wrote them."""

    NAME = "crokodial_webhook_dead_letters_open"
    HELP = "Queued fast-path leads recorded as dead letters and not re-driven yet."

    def describe(self):  # registering must not query the database
        return [GaugeMetricFamily(self.NAME, self.HELP)]

    def collect(self):
        from django.db import DatabaseError

        from webhooks.models import DeadLetterStatus, QueuedLeadDeadLetter

        try:
            count = QueuedLeadDeadLetter.objects.filter(status=DeadLetterStatus.OPEN).count()
        except DatabaseError:
            return  # the database check of /api/health tells that story
        yield GaugeMetricFamily(self.NAME, self.HELP, value=count)


# Every series exists from the start, at zero: rates and alerts need no first event to work.
for _path in ("default", "fast"):
    PROCESS_SECONDS.labels(_path)
    BROADCAST_SECONDS.labels(_path)
    for _outcome in ("created", "updated", "queued", "rejected", "unavailable"):
        DELIVERIES.labels(_outcome, _path)

"""Prometheus series of the NextGen intake, served at /metrics."""

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

PROCESS_SECONDS = Histogram(
    "crokodial_webhook_process_seconds",
    "NextGen webhook: request received to response ready.",
    buckets=LATENCY_BUCKETS,
)
BROADCAST_SECONDS = Histogram(
    "crokodial_webhook_broadcast_seconds",
    "NextGen webhook: request received to event handed to the channel layer.",
    buckets=LATENCY_BUCKETS,
)
DELIVERIES = Counter(
    "crokodial_webhook_deliveries_total",
    "NextGen webhook calls by outcome.",
    ["outcome"],
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


REGISTRY.register(OpenDeadLettersCollector())

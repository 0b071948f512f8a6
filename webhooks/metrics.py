"""Prometheus series of the NextGen intake, served at /metrics."""

from prometheus_client import Counter, Histogram

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

"""Prometheus series of the live feed, served at /metrics (docs/operations.md, "Metrics")."""

from prometheus_client import Counter, Gauge

# livesum: the sockets of every live web process, added up; a dead process's are dropped.
SOCKETS_OPEN = Gauge(
    "crokodial_sockets_open",
    "WebSockets open to agents' dashboards.",
    multiprocess_mode="livesum",
)
EVENTS_SENT = Counter(
    "crokodial_events_sent_total",
    "Tenant events handed to the channel layer, by event type.",
    ["type"],
)
EVENTS_FAILED = Counter(
    "crokodial_events_failed_total",
    "Tenant events the channel layer refused (never delivered), by event type.",
    ["type"],
)

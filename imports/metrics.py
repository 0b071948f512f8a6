"""Prometheus series of CSV imports, served at /metrics (docs/operations.md, "Metrics")."""

from prometheus_client import Counter, Histogram

IMPORTS = Counter(
    "crokodial_imports_total",
    "Imports that ended, by outcome (done, failed).",
    ["outcome"],
)
ROWS = Counter(
    "crokodial_import_rows_total",
    "Rows of ended imports, by what became of them (imported, updated, skipped, failed).",
    ["outcome"],
)
IMPORT_SECONDS = Histogram(
    "crokodial_import_seconds",
    "Import started to ended, across the runs of a resumed import.",
    buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)

# Every series exists from the start, at zero: rates and alerts need no first import to work.
for _outcome in ("done", "failed"):
    IMPORTS.labels(_outcome)
for _outcome in ("imported", "updated", "skipped", "failed"):
    ROWS.labels(_outcome)

"""CONTRACT §8: one scrape of /metrics answers for every web process and the worker."""

import tempfile
import time
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from leads.models import Lead
from tests.helpers import nextgen_body, nextgen_credentials
from tests.server import celery_worker, live_server, shared_database_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

FIXTURES = Path(__file__).parents[1] / "webhooks" / "fixtures"
METRICS_TOKEN = "scrape-token-0123456789"
DELIVERIES = 40
SCRAPES = 10
TIMEOUT = 60  # a ceiling for the worker to store the leads, not a measured delay


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _web_processes_that_answered(directory: str) -> set[str]:
    """Identifiers of the processes whose own files count a fast-path delivery."""
    answered = set()
    for path in Path(directory).glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            if any(
                sample.name == "crokodial_webhook_deliveries_total" and sample.value > 0
                for sample in family.samples
            ):
                answered.add(path.stem.removeprefix("counter_"))
    return answered


def test_every_scrape_counts_the_deliveries_of_both_web_processes_and_the_worker(agent):
    vendor_headers = nextgen_credentials(agent)
    body = nextgen_body()
    stored = Lead.objects.filter(tenant=agent)
    with tempfile.TemporaryDirectory() as metrics_dir:
        env = shared_database_env(
            USE_FAST_PATH="1", METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=metrics_dir
        )
        with (
            live_server(env, procfile=True, workers=2) as base_url,
            celery_worker(env, wait_ready=True),
            # No keep-alive: each call is a new connection, which either web process may take.
            httpx.Client(
                base_url=base_url, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)
            ) as http,
        ):
            answers = [
                http.post(
                    "/api/webhooks/nextgen",
                    json={**body, "lead_id": f"SCRAPE-{n}", "phone": f"210-555-{n:04d}",
                          "email": f"scrape{n}@example.com"},
                    headers=vendor_headers,
                ).status_code
                for n in range(DELIVERIES)
            ]  # fmt: skip
            deadline = time.monotonic() + TIMEOUT
            while stored.count() < DELIVERIES and time.monotonic() < deadline:
                time.sleep(0.2)
            scrapes = [
                http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
                for _ in range(SCRAPES)
            ]
            answered = _web_processes_that_answered(metrics_dir)

    assert answers == [HTTPStatus.ACCEPTED] * DELIVERIES
    assert stored.count() == DELIVERIES
    assert len(answered) == 2, answered  # both web processes took deliveries
    assert [scrape.status_code for scrape in scrapes] == [HTTPStatus.OK] * SCRAPES
    samples = [_samples(scrape.text) for scrape in scrapes]
    queued = ("crokodial_webhook_deliveries_total", (("outcome", "queued"), ("path", "fast")))
    persisted = ("crokodial_webhook_persisted_total", ())
    assert [scrape[queued] for scrape in samples] == [DELIVERIES] * SCRAPES
    assert [scrape[persisted] for scrape in samples] == [DELIVERIES] * SCRAPES
    for earlier, later in zip(samples, samples[1:], strict=False):
        for key, value in earlier.items():
            if key[0].endswith(("_total", "_count", "_bucket", "_sum")):
                assert later.get(key, 0) >= value, key

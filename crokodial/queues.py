"""The Celery queues, and their depth and oldest message read from the broker when scraped.

Fast-path leads and imports have a queue each (CELERY_TASK_ROUTES), consumed by separate
worker processes (Procfile), so a running import never delays a hot lead.
docs/operations.md, "Queues".
"""

import json
import logging
import time

from celery import current_app
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

LEADS_QUEUE = "leads"
IMPORTS_QUEUE = "imports"
DEFAULT_QUEUE = "celery"
QUEUES = (LEADS_QUEUE, IMPORTS_QUEUE, DEFAULT_QUEUE)
# Set on every message as it is published, to tell the age of the oldest one waiting.
PUBLISHED_HEADER = "crokodial_published"
# kombu's Redis transport keeps each priority level of a queue in its own list.
_REDIS_PRIORITY_SEPARATOR = "\x06\x16"
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)


def message_stamp(headers: dict) -> None:
    headers[PUBLISHED_HEADER] = time.time()


def _redis_queue_stats(queue: str) -> tuple[int, float | None]:
    import redis

    keys = [
        queue if step == 0 else f"{queue}{_REDIS_PRIORITY_SEPARATOR}{step}"
        for step in _REDIS_PRIORITY_STEPS
    ]
    with redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
    ) as client:
        pipeline = client.pipeline(transaction=False)
        for key in keys:
            pipeline.llen(key)
            pipeline.lindex(key, -1)  # BRPOP takes from the right: the oldest
        replies = pipeline.execute()
    depth = sum(replies[0::2])
    published = []
    for raw in replies[1::2]:
        if raw is None:
            continue
        try:
            stamp = json.loads(raw).get("headers", {}).get(PUBLISHED_HEADER)
        except (ValueError, AttributeError):
            continue
        if isinstance(stamp, int | float):
            published.append(stamp)
    return depth, (max(0.0, time.time() - min(published)) if published else None)


def _amqp_queue_depth(queue: str) -> int:
    # The project's app (crokodial.celery), found without importing it: it imports this module.
    with current_app.connection_for_read() as connection:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count


class QueueCollector:
    """`crokodial_queue_messages` and `crokodial_queue_oldest_message_age_seconds` per queue."""

    def describe(self):  # registering must not reach the broker
        return []

    def collect(self):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        depth = GaugeMetricFamily(
            "crokodial_queue_messages", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "crokodial_queue_oldest_message_age_seconds",
            "Age of the oldest message waiting in each Celery queue (0 when empty; Redis only).",
            labels=["queue"],
        )
        for queue in QUEUES:
            try:
                if settings.BROKER_IS_REDIS:
                    count, oldest = _redis_queue_stats(queue)
                    age.add_metric([queue], oldest or 0.0)
                else:
                    count = _amqp_queue_depth(queue)
            except Exception as error:  # the health check tells that story
                logger.warning("queue %s not measured: %s", queue, error)
                continue
            depth.add_metric([queue], count)
        yield depth
        if settings.BROKER_IS_REDIS:
            yield age


_hot_clients: dict[str, object] = {}


def hot_leads_waiting(broker_url: str | None = None) -> bool:
    """Whether fast-path leads wait in the broker's `leads` queue: more than IMPORT_YIELD_DEPTH
    messages, or the oldest older than IMPORT_YIELD_AGE_MS. Imports give way while it holds
    (imports/priority.py, settings.IMPORT_HOT_WORK_CHECK).

    One pipelined round trip on a kept connection. False with no broker (eager), with a broker
    other than Redis, and whenever the broker does not answer: an import never waits on an error.
    """
    import redis

    if broker_url is None:
        if settings.CELERY_TASK_ALWAYS_EAGER or not settings.BROKER_IS_REDIS:
            return False
        broker_url = settings.CELERY_BROKER_URL
    try:
        client = _hot_clients.get(broker_url)
        if client is None:
            client = _hot_clients.setdefault(
                broker_url,
                redis.Redis.from_url(broker_url, socket_timeout=0.2, socket_connect_timeout=0.2),
            )
        pipeline = client.pipeline(transaction=False)  # type: ignore[attr-defined]
        pipeline.llen(LEADS_QUEUE)
        pipeline.lindex(LEADS_QUEUE, -1)  # BRPOP takes from the right: the oldest
        depth, oldest = pipeline.execute()
    except Exception as error:
        logger.debug("leads queue not measured: %s", error)
        return False
    if depth > settings.IMPORT_YIELD_DEPTH:
        return True
    if oldest is None:
        return False
    try:
        stamp = json.loads(oldest).get("headers", {}).get(PUBLISHED_HEADER)
    except (ValueError, AttributeError):
        return False
    return (
        isinstance(stamp, int | float) and time.time() - stamp > settings.IMPORT_YIELD_AGE_MS / 1000
    )

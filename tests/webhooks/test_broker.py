"""The broker transport: a message leaves its queue only by being recorded as unacknowledged.

Stock kombu pops a message with BRPOP and records it in `unacked` only once the worker has read
the reply: a worker killed in between loses the message. `crokodial.broker` does both at once.
"""

import base64
import json
import time
import uuid

import pytest
import redis
from django.conf import settings
from kombu import Connection, Exchange, Queue
from kombu.common import ignore_errors
from kombu.transport.redis import Empty

from tests.faults import private_redis

pytestmark = pytest.mark.redis


def _body(message: dict) -> object:
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    return json.loads(body)


def _unacked_entry(client: redis.Redis, body: dict) -> tuple[str, dict] | None:
    for tag, entry in client.hgetall("unacked").items():
        message, _exchange, _routing_key = json.loads(entry)
        if _body(message) == body:
            return tag.decode(), message
    return None


def test_a_message_taken_by_a_worker_killed_before_reading_it_can_be_restored():
    client = redis.Redis.from_url(settings.REDIS_URL)
    name = f"broker-test-{uuid.uuid4().hex}"
    body = {"lead": name}
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(settings.REDIS_URL, transport="crokodial.broker:Transport") as connection:
        with connection.Producer(serializer="json") as producer:
            producer.publish(body, exchange=queue.exchange, routing_key=name, declare=[queue])
        assert client.llen(name) == 1
        channel = connection.channel()
        channel.basic_consume(name, False, lambda message: None, consumer_tag="test")

        # The worker asks for a message (as its event loop does) and dies before it reads the
        # answer.
        connection.transport.cycle._client_registered(channel, channel.client, "BRPOP")
        channel._brpop_start()
        deadline = time.monotonic() + 5
        while (found := _unacked_entry(client, body)) is None and time.monotonic() < deadline:
            time.sleep(0.01)

        assert client.llen(name) == 0
        assert found is not None, "the popped message is nowhere: neither queued nor unacked"
        tag, _message = found
        channel.close()

    # What a visibility timeout does for every unacknowledged message of a dead worker.
    with Connection(settings.REDIS_URL, transport="crokodial.broker:Transport") as connection:
        connection.channel().qos.restore_by_tag(tag, leftmost=True)
    try:
        assert client.llen(name) == 1
        restored = json.loads(client.lindex(name, 0))
        assert _body(restored) == body
        assert _unacked_entry(client, body) is None
    finally:
        client.delete(name, f"_kombu.binding.{name}")


def test_messages_still_flow_through_the_transport_and_are_acknowledged():
    name = f"broker-test-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    received = []
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        with Connection(settings.REDIS_URL, transport="crokodial.broker:Transport") as connection:
            with connection.Producer(serializer="json") as producer:
                for number in range(3):
                    producer.publish(
                        {"lead": number}, exchange=queue.exchange, routing_key=name, declare=[queue]
                    )

            def handle(body: dict, message) -> None:
                received.append(body["lead"])
                message.ack()

            with connection.Consumer(queue, callbacks=[handle], accept=["json"]):
                deadline = time.monotonic() + 10
                while len(received) < 3 and time.monotonic() < deadline:
                    connection.drain_events(timeout=1)

        assert sorted(received) == [0, 1, 2]
        assert client.llen(name) == 0
        assert all(_unacked_entry(client, {"lead": number}) is None for number in range(3))
    finally:
        client.delete(name, f"_kombu.binding.{name}")


def test_a_broker_that_dies_under_held_messages_closes_with_connection_errors_only():
    """A worker holds two messages and waits for more when Redis dies. Reading the pending
    wait's reply cuts the channel's first close short; the transport is closed; the channel is
    closed again. kombu 5.7 raised AttributeError there (seen in CI, 2026-12-01), which Celery
    takes as unrecoverable: the worker exited and stored no lead until it was restarted. Only
    connection errors may come out, and the held messages must stay restorable."""
    name = f"broker-test-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with private_redis(appendonly=True) as server:
        connection = Connection(server.url, transport="crokodial.broker:Transport")
        with connection.Producer(serializer="json") as producer:
            for number in range(2):
                producer.publish(
                    {"lead": number}, exchange=queue.exchange, routing_key=name, declare=[queue]
                )
        held = []
        consumer = connection.Consumer(
            queue, callbacks=[lambda body, message: held.append(body)], accept=["json"]
        )
        consumer.consume()
        deadline = time.monotonic() + 10
        while len(held) < 2 and time.monotonic() < deadline:
            connection.drain_events(timeout=1)
        assert sorted(body["lead"] for body in held) == [0, 1]
        # The queue is empty (the pop answers nothing), so the channel blocks until one comes.
        channel = consumer.channel
        connection.transport.cycle._client_registered(channel, channel.client, "BRPOP")
        channel._brpop_start()
        with pytest.raises(Empty):
            channel._brpop_read()
        channel._brpop_start()
        server.kill()

        with pytest.raises(connection.connection_errors):
            channel.close()  # the pending wait's reply is gone with the connection
        assert not channel.closed
        connection.transport.client = None  # what Connection.collect() does to the transport
        ignore_errors(connection, channel.close)  # anything but a connection error escapes

        server.start()
        client = redis.Redis.from_url(server.url)
        # Both held messages wait in `unacked`, for the visibility timeout to bring them back.
        assert {_body(json.loads(entry)[0])["lead"] for entry in client.hvals("unacked")} == {0, 1}

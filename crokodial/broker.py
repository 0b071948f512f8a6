"""kombu's Redis transport, with a message taken off a queue and put in `unacked` in one step.

kombu 5.7 takes a message with BRPOP and only afterwards, once the reply has been read and
parsed in the worker, writes it to the `unacked` hash (`QoS.append`). A worker killed between
the two (SIGKILL, OOM kill, power loss) loses the message for good: it is in neither the queue
nor `unacked`, so no visibility timeout ever brings it back. kombu has no option against it.

Here a Lua script pops the message and records it in `unacked`/`unacked_index` atomically, so
at every moment a message is either queued or restorable. The script cannot block, so when the
queues are empty the channel waits with `BLMOVE q q RIGHT RIGHT`, which wakes when `q` gets a
message and leaves it where it is; then it pops with the script again. `QoS.append` still
writes the same entry afterwards (same tag, same content, a fresher score).
"""

import time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

# KEYS: unacked_index, unacked, queue keys in priority order; ARGV: now (the QoS.append clock).
POP_AND_RECORD = """
for i = 3, #KEYS do
    local item = redis.call('RPOP', KEYS[i])
    if item then
        local ok, message = pcall(cjson.decode, item)
        local properties = ok and type(message) == 'table' and message['properties']
        local tag = type(properties) == 'table' and properties['delivery_tag']
        local info = type(properties) == 'table' and properties['delivery_info']
        if type(tag) == 'string' and type(info) == 'table' then
            redis.call('ZADD', KEYS[1], ARGV[1], tag)
            redis.call('HSET', KEYS[2], tag, '[' .. item .. ','
                .. cjson.encode(info['exchange']) .. ','
                .. cjson.encode(info['routing_key']) .. ']')
        end
        return {KEYS[i], item}
    end
end
return false
"""


class QoS(kombu_redis.QoS):
    def append(self, message, delivery_tag):
        if self.channel.recorded_by_pop(delivery_tag):
            # Only kombu's own bookkeeping in memory: POP_AND_RECORD wrote the Redis entry.
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)


def _recorded_tag(message: object) -> str | None:
    """The delivery tag POP_AND_RECORD recorded `message` under, or None if it recorded none."""
    properties = message.get("properties") if isinstance(message, dict) else None
    if not isinstance(properties, dict):
        return None
    tag = properties.get("delivery_tag")
    if isinstance(tag, str) and isinstance(properties.get("delivery_info"), dict):
        return tag
    return None


class Channel(kombu_redis.Channel):
    QoS = QoS
    _pending: str | None = None  # which command the BRPOP connection is waiting on
    _wait_next = False
    _sync_client = None
    # Set by kombu's Channel; declared for the type checker.
    _brpop_sent_at: float | None  # type: ignore[assignment]  # kombu declares it None only
    _in_poll: Any

    def __init__(self, *args, **kwargs):
        self._no_ack_queues = set()
        self._recorded_tags = set()
        super().__init__(*args, **kwargs)

    def recorded_by_pop(self, delivery_tag: str) -> bool:
        """Whether POP_AND_RECORD already wrote this message to `unacked` (asked once)."""
        try:
            self._recorded_tags.remove(delivery_tag)
        except KeyError:
            return False
        return True

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            # The transport was closed under this channel. It happens when Redis dies while
            # the worker holds messages: reading the pending pop's reply cuts kombu's first
            # close short, Celery closes the transport, and the channel's second close tries to
            # give its held messages back through a new pool. kombu then raised AttributeError,
            # which Celery takes as unrecoverable: the worker exited and stored nothing more
            # until it was restarted. Said as a connection error, every caller of close ignores
            # it; the held messages wait in `unacked` for the visibility timeout.
            raise kombu_redis.redis.exceptions.ConnectionError("the broker connection is closed")
        return super()._connparams(asynchronous=asynchronous)

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._sync_client
        if client is None or client.connection_pool is not self.pool:
            client = self._sync_client = super()._create_client()
        return client

    def basic_consume(self, queue, no_ack, *args, **kwargs):
        if no_ack:  # nobody will ack it: it must not go to `unacked`
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def _brpop_start(self, timeout=None):
        if timeout is None:
            timeout = self.brpop_timeout
        queues = self._queue_cycle.consume(len(self.active_queues))  # does not rotate
        if not queues:
            return
        if (
            self.global_keyprefix
            or not self.ack_emulation
            or self._no_ack_queues.intersection(queues)
        ):
            self._pending = "BRPOP"  # kombu's own way
            return super()._brpop_start(timeout)
        keys = [self._q_for_pri(queue, pri) for pri in self.priority_steps for queue in queues]
        if self._wait_next:
            self._pending = "WAIT"
            command = ["BLMOVE", keys[0], keys[0], "RIGHT", "RIGHT", timeout or 0]
        else:
            self._pending = "POP"
            command = [
                "EVAL",
                POP_AND_RECORD,
                len(keys) + 2,
                self.unacked_index_key,
                self.unacked_key,
                *keys,
                repr(time.time()),
            ]
        self._in_poll = self.client.connection
        self._brpop_sent_at = time.monotonic()
        self.client.connection.send_command(*command)

    def _brpop_read(self, **options):
        pending, self._pending = self._pending, None
        if pending not in ("POP", "WAIT"):
            return super()._brpop_read(**options)
        try:
            try:
                reply = self.client.parse_response(
                    self.client.connection, "BLMOVE" if pending == "WAIT" else "EVAL", **options
                )
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if pending == "WAIT":
                # Woken by a message (left in place) or by the timeout: pop next time.
                self._wait_next = False
                raise kombu_redis.Empty()
            if not reply:
                self._wait_next = True
                raise kombu_redis.Empty()
            dest, item = reply
            dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            message = loads(bytes_to_str(item))
            tag = _recorded_tag(message)
            if tag is not None:
                self._recorded_tags.add(tag)
            self.connection._deliver(message, dest)
            return True
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()


class Transport(kombu_redis.Transport):
    Channel = Channel

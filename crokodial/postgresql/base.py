"""PostgreSQL through the psycopg pool, failing fast while the database is known to be down.

Django's pooled backend makes every request wait the pool's whole timeout for a connection
that cannot come when the server is gone. This backend keeps one breaker per process: a failed
attempt to connect opens it, and from then on a request that needs a new connection is refused
at once (Django raises OperationalError, which `crokodial.outages` answers with a 503), except
for one probe a second. The first connection made again closes it. See docs/failures.md.
"""

import logging
import select
import threading
import time
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import _queries
from psycopg_pool import ConnectionPool, PoolTimeout

logger = logging.getLogger("crokodial.database")

PROBE_INTERVAL = 1.0
# A client waiting for a busy pool looks at the breaker this often, so it stops waiting as soon
# as a connection attempt has failed rather than at the end of the pool's timeout.
WAIT_SLICE = 0.2
# How long the pool keeps retrying one failed connection on its own (with backoff) before it
# gives up; the next request, or probe, starts a fresh attempt at once. psycopg_pool's own
# default of five minutes would leave a recovered database unused for up to a minute or more.
RECONNECT_TIMEOUT = 2.0
# A connection handed back to the pool less than this long ago, with nothing waiting on its
# socket, is handed out again without the pool's empty query (see `check_connection`).
RECENTLY_RETURNED_SECONDS = 5.0

# psycopg parses a statement's placeholders once and remembers the result, but only for
# statements of at most 50 parameters (a private limit of psycopg 3). The lead's INSERT
# (leads.services) has one per column and then some: parsed again for every lead, it was a
# visible share of the fast path's worker CPU (docs/benchmarks.md, "Fast path at 200 leads/s").
# The cache stays bounded: at most 128 statements of at most 4 kB each.
_queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, 200)


class DatabaseDown(psycopg.OperationalError):
    """Refused without trying: the last attempt to reach the database failed."""


class Breaker:
    """Whether the database is known to be down, shared by every thread of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def allow(self) -> bool:
        """True when a connection may be tried: the database is up, or a probe is due."""
        if self.down_since is None:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + PROBE_INTERVAL
            return True

    def failed(self, error: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            self._next_probe = now + PROBE_INTERVAL
            if self.down_since is None:
                self.down_since = now
                logger.warning("database unreachable, failing fast until it answers: %s", error)

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                logger.warning(
                    "database answers again after %.1f s", time.monotonic() - self.down_since
                )
                self.down_since = None


breaker = Breaker()


class WatchedConnection(psycopg.Connection):
    """A connection that tells the breaker whether it could be made."""

    returned_at: float | None = None  # when it last went back to the pool (monotonic)

    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> "WatchedConnection":
        try:
            connection = super().connect(*args, **kwargs)
        except psycopg.OperationalError as error:
            breaker.failed(error)
            raise
        breaker.succeeded()
        return connection


def _has_input(connection: psycopg.Connection) -> bool:
    """Whether the server sent something to an idle connection: closing it, or a notice."""
    try:
        readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError):
        return True
    return bool(readable)


def check_connection(connection: psycopg.Connection) -> None:
    """The pool's check before it hands a connection out, without a round trip when it can.

    A connection back from its last use moments ago, idle, and with nothing from the server on
    its socket is sound as far as anything short of a query can tell: a server that stopped or
    restarted closes its connections, which makes their sockets readable. Any other connection
    gets psycopg_pool's empty query (one round trip to PostgreSQL): the worker takes a
    connection for every task, and that query was a measurable share of each task's cost.
    """
    returned_at = getattr(connection, "returned_at", None)
    if (
        returned_at is not None
        and time.monotonic() - returned_at < RECENTLY_RETURNED_SECONDS
        and connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        and not _has_input(connection)
    ):
        return
    ConnectionPool.check_connection(connection)


class FailFastPool(ConnectionPool):
    def putconn(self, conn: psycopg.Connection) -> None:
        conn.returned_at = time.monotonic()
        super().putconn(conn)

    def getconn(self, timeout: float | None = None) -> psycopg.Connection:
        if not breaker.allow():
            raise DatabaseDown("the database is unavailable (failing fast; retrying each second)")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            try:
                return super().getconn(timeout=max(0.01, min(WAIT_SLICE, remaining)))
            except PoolTimeout:
                if breaker.down:
                    raise DatabaseDown("the database is unavailable") from None
                if remaining <= WAIT_SLICE:
                    raise


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool | None:
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == base.NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            # As Django's own backend builds its pool, with the breaker's classes and timeouts.
            options = {} if pool_options is True else dict(pool_options)
            options.setdefault("reconnect_timeout", RECONNECT_TIMEOUT)
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True
            pool = FailFastPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=check_connection,
                connection_class=WatchedConnection,
                **options,
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

"""The PostgreSQL backend's per-statement and per-connection costs (crokodial.postgresql).

The fast path's worker takes a pooled connection and writes one lead per task: what each
statement and each checkout costs is paid hundreds of times a second (docs/benchmarks.md).
"""

import psycopg
import pytest
from django.db import connection
from psycopg import _queries

from leads.services import lead_upsert
from tests.helpers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_lead_insert_is_parsed_once_not_for_every_lead(agent, monkeypatch):
    parsed_again = []
    uncached = _queries._query2pg_client_nocache

    def counting(query, encoding):
        parsed_again.append(query)
        return uncached(query, encoding)

    # psycopg calls this module-level function only for statements it does not cache.
    monkeypatch.setattr(_queries, "_query2pg_client_nocache", counting)
    for number in range(3):
        lead_upsert(
            tenant_id=agent.pk,
            incoming={"phone": f"+1210555{number:04d}", "email": f"parse{number}@example.com"},
        )

    assert not [query for query in parsed_again if query.startswith(b"INSERT")]


def test_pooled_connections_whose_server_processes_ended_are_not_handed_out(agent):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (used,) = cursor.fetchone()
    connection.close()  # back to the pool, moments ago: the pool would skip its empty query

    with (
        psycopg.connect(**connection.get_connection_params(), autocommit=True) as other,
        other.cursor() as cursor,
    ):
        # Every pooled connection of this process ends, as in a restart of the server.
        cursor.execute(
            "SELECT array_agg(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (ended,) = cursor.fetchone()
        assert used in ended
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [ended])

        def gone() -> bool:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s::int[])", [ended]
            )
            return cursor.fetchone()[0] == 0

        assert wait_for(gone, 10)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (current,) = cursor.fetchone()
    assert current not in ended

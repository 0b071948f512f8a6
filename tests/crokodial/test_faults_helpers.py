"""The private servers fault tests kill are really private, and really die."""

import psycopg
import pytest
import redis

from tests.faults import private_postgres, private_redis

pytestmark = pytest.mark.postgres


def test_private_postgres_stops_and_starts_again_with_its_data():
    with private_postgres() as server:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0
        server.stop()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url, connect_timeout=2)
        server.start()
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.redis
def test_private_redis_dies_when_killed():
    with private_redis() as server:
        client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
        assert client.ping()
        server.kill()
        with pytest.raises(redis.ConnectionError):
            client.ping()

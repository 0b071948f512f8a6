"""A real over-50 MB upload, streamed to a real server process (tests/server.py)."""

from http import HTTPStatus

import httpx
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from imports.models import ImportJob
from tests.faults import private_redis
from tests.server import live_server, shared_database_env

LIMIT = 50 * 1024 * 1024
BOUNDARY = "crokodial-test-boundary"


def database_url() -> str:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT'] or 5432}"
        f"/{database['NAME']}"
    )


HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
    "Content-Type: text/csv\r\n\r\nPhone\r\n"
).encode()
TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
CHUNK = b"2104611180\r\n" * 87_381  # about 1 MB of rows


def multipart_body(chunks: int):
    """Yield, a megabyte at a time, a multipart body with one CSV file part: never all of it."""
    yield HEAD
    for _ in range(chunks):
        yield CHUNK
    yield TAIL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_upload_over_50_mb_is_refused_with_413(agent, tmp_path):
    token = Token.objects.create(user=agent)
    env = {"DJANGO_SECRET_KEY": "live-test", "DATABASE_URL": database_url(),
           "MEDIA_ROOT": str(tmp_path)}  # fmt: skip

    chunks = LIMIT // len(CHUNK) + 2
    length = len(HEAD) + chunks * len(CHUNK) + len(TAIL)

    with live_server(env) as base_url:
        response = httpx.post(
            f"{base_url}/api/csv-upload",
            content=multipart_body(chunks),
            headers={
                "Authorization": f"Token {token.key}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                # Browsers always declare it; Django cannot parse a chunked multipart body.
                "Content-Length": str(length),
            },
            timeout=120,
        )

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"error": "The file is over the 50 MB import limit."}
    assert not ImportJob.objects.exists()
    assert not list(tmp_path.rglob("*.csv"))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_upload_while_the_queue_is_down_answers_503_and_keeps_nothing(agent, tmp_path):
    token = Token.objects.create(user=agent)
    with private_redis() as redis_server:
        env = shared_database_env(REDIS_URL=redis_server.url, MEDIA_ROOT=str(tmp_path))
        with live_server(env) as base_url:
            redis_server.kill()
            response = httpx.post(
                f"{base_url}/api/csv-upload",
                files={"file": ("leads.csv", b"Phone\n2104611180\n", "text/csv")},
                headers={"Authorization": f"Token {token.key}"},
                timeout=30,
            )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE, response.text
    assert response.headers["Retry-After"]
    assert "error" in response.json()
    assert not ImportJob.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))

"""The edge (crokodial.edge): limits act before a body is read, tried with raw sockets against
a real uvicorn process, and in-process where only the order of events matters."""

import json
import select
import socket
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from rest_framework.authtoken.models import Token

from crokodial.asgi import application
from imports.models import ImportJob
from leads.models import Lead
from tests.server import live_server, server_process, shared_database_env

MB = 1024 * 1024
DECLARED = 300 * MB
STREAM_CAP = 2 * 1024 * MB
CHUNK = b"x" * (64 * 1024)
IMPORT_LIMIT = MB
BOUNDARY = "edge-test-boundary"
FIXTURES = Path(__file__).parents[1] / "imports" / "fixtures"
CSV = (FIXTURES / "spreadsheet_leads_sample.csv").read_bytes()


# --- In-process: what the app behind the edge gets to read ---------------------------------


async def call_edge(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple:
    """Call the ASGI app; return (status, json body, body messages the app asked for)."""
    reads, sent = [], []

    async def receive() -> dict:
        reads.append(1)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": [(b"host", b"localhost"), *headers],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 5000),
    }
    await application(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], dict(start["headers"]), json.loads(body), len(reads)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/leads/1"),
        ("POST", "/api/csv-upload"),
        ("POST", "/api/leads/import-csv"),
        ("POST", "/api/imports/preview/"),
        ("POST", "/api/dnc/upload"),
        ("GET", "/api/leads"),
    ],
)
async def test_anonymous_api_request_is_answered_401_without_reading_its_body(method, path):
    status, headers, body, reads = await call_edge(method, path, [(b"content-length", b"2")])

    assert status == HTTPStatus.UNAUTHORIZED
    assert headers[b"www-authenticate"] == b"Token"
    assert body == {"error": "Authentication credentials were not provided."}
    assert reads == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/webhooks/nextgen", MB),
        ("/api/auth/token", 256 * 1024),
        ("/admin/login/", 2.5 * MB),
        ("/accounts/login/", 256 * 1024),
        ("/api/csv-upload/", 50 * MB + 64 * 1024),
    ],
)
async def test_declared_length_over_the_route_limit_is_answered_413_unread(path, limit):
    length = str(int(limit) + 1).encode()
    headers = [(b"content-length", length), (b"authorization", b"Token anything")]

    status, answer_headers, body, reads = await call_edge("POST", path, headers)

    assert status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert answer_headers[b"connection"] == b"close"
    assert body["error"]
    assert reads == 0


# --- A real server, raw sockets -----------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """uvicorn on the test database; tasks run in-process (no REDIS_URL) so an upload imports."""
    env = shared_database_env(
        MEDIA_ROOT=str(tmp_path / "media"),
        TMPDIR=str(tmp_path),
        IMPORT_MAX_BYTES=str(IMPORT_LIMIT),
        REQUEST_BODY_IDLE_SECONDS="1",
        REQUEST_BODY_DEADLINE_SECONDS="4",
    )
    env.pop("REDIS_URL", None)
    with live_server(env) as base_url:
        yield base_url


@pytest.fixture
def token(agent) -> str:
    return Token.objects.create(user=agent).key


def connect(base_url: str) -> socket.socket:
    address = urlsplit(base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    return sock


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP answer with a Content-Length (the socket's timeout bounds the wait)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before an answer: {data!r}")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def bytes_written_by(base_url: str) -> int:
    """Everything the server process has written (files, pipes, sockets): /proc/<pid>/io."""
    io = Path(f"/proc/{server_process(base_url).pid}/io").read_text()
    return int(next(line for line in io.splitlines() if line.startswith("wchar:")).split()[1])


def stream_until_answered(sock: socket.socket, cap: int) -> int:
    """Send chunked body bytes until the server answers (or `cap`); return how many were sent."""
    sent = 0
    while sent < cap:
        # Pacing, not timing: give the server a moment to answer before each chunk.
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            break
        try:
            sock.sendall(f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(CHUNK)
    return sent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "authenticated"),
    [
        ("/api/csv-upload", True),
        ("/api/csv-upload", False),
        ("/api/auth/token", False),
        ("/api/webhooks/nextgen", False),
        ("/accounts/login/", False),
        ("/api/leads/1", True),
    ],
)
def test_a_declared_300_mb_body_gets_413_before_any_of_it_is_sent(
    server, token, path, authenticated
):
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(DECLARED)}
    if authenticated:
        headers["Authorization"] = f"Token {token}"
    with connect(server) as sock:
        sock.sendall(head("POST", path, headers))
        status, answer_headers, body = read_answer(sock)

    assert status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert answer_headers["content-type"] == "application/json"
    assert json.loads(body)["error"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "status", "bound"),
    [
        ("POST", "/api/csv-upload", HTTPStatus.UNAUTHORIZED, MB),
        ("PATCH", "/api/leads/1", HTTPStatus.UNAUTHORIZED, MB),
        ("POST", "/api/auth/token", HTTPStatus.REQUEST_ENTITY_TOO_LARGE, MB),
        ("POST", "/accounts/login/", HTTPStatus.REQUEST_ENTITY_TOO_LARGE, MB),
        # The vendor's door takes up to 1 MB: refused at its limit.
        ("POST", "/api/webhooks/nextgen", HTTPStatus.REQUEST_ENTITY_TOO_LARGE, MB + 4 * len(CHUNK)),
    ],
)
def test_an_anonymous_2_gb_stream_is_refused_before_its_first_megabyte(
    server, method, path, status, bound
):
    written_before = bytes_written_by(server)
    with connect(server) as sock:
        sock.sendall(
            head(
                method,
                path,
                {"Transfer-Encoding": "chunked", "Content-Type": "multipart/form-data; boundary=x"},
            )
        )
        sent = stream_until_answered(sock, STREAM_CAP)
        answer_status, _, _ = read_answer(sock)

    assert answer_status == status
    assert sent < bound
    # Nothing spooled: the server wrote (to files, logs and sockets alike) under a megabyte.
    assert bytes_written_by(server) - written_before < MB


def multipart(content: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="leads.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_authenticated_stream_over_the_import_limit_is_refused_at_the_limit(server, token):
    written_before = bytes_written_by(server)
    with connect(server) as sock:
        sock.sendall(
            head(
                "POST",
                "/api/csv-upload",
                {
                    "Transfer-Encoding": "chunked",
                    "Authorization": f"Token {token}",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                },
            )
        )
        sent = stream_until_answered(sock, STREAM_CAP)
        status, _, body = read_answer(sock)

    assert status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert json.loads(body) == {"error": "The file is over the 1 MB import limit."}
    assert sent < 2 * IMPORT_LIMIT
    assert bytes_written_by(server) - written_before < IMPORT_LIMIT
    assert not ImportJob.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_upload_with_a_bad_token_is_refused_before_its_body(server, agent):
    with connect(server) as sock:
        sock.sendall(
            head(
                "POST",
                "/api/csv-upload",
                {
                    "Content-Length": str(IMPORT_LIMIT),
                    "Authorization": "Token not-a-token",
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                },
            )
        )
        status, headers, body = read_answer(sock)

    assert status == HTTPStatus.UNAUTHORIZED
    assert headers["www-authenticate"] == "Token"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_chunked_multipart_upload_imports(server, token, agent):
    body = multipart(CSV)

    def chunks():
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    response = httpx.post(
        f"{server}/api/csv-upload",
        content=chunks(),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        timeout=30,
    )

    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == HTTPStatus.CREATED, response.text
    assert response.json()["status"] == "done"
    assert response.json()["stats"]["imported"] > 0
    assert Lead.objects.filter(tenant=agent).count() == response.json()["stats"]["imported"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/auth/token", "/api/webhooks/nextgen"])
def test_a_stalled_body_gets_408(server, path):
    with connect(server) as sock:
        sock.sendall(
            head("POST", path, {"Content-Length": "100", "Content-Type": "application/json"})
        )
        sock.sendall(b'{"username": ')
        # The socket's 10 s timeout bounds the wait; the server's idle limit here is 1 s.
        status, _, body = read_answer(sock)

    assert status == HTTPStatus.REQUEST_TIMEOUT
    assert json.loads(body)["error"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_trickling_body_gets_408_at_the_deadline(server):
    with connect(server) as sock:
        sock.sendall(
            head(
                "POST",
                "/api/auth/token",
                {"Content-Length": "1000", "Content-Type": "application/json"},
            )
        )
        answer = []
        # A byte every half second never trips the 1 s idle limit, only the 4 s deadline.
        for _ in range(40):
            if select.select([sock], [], [], 0.5)[0]:
                answer = read_answer(sock)
                break
            sock.sendall(b" ")

    assert answer
    assert answer[0] == HTTPStatus.REQUEST_TIMEOUT

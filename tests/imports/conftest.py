from collections.abc import Callable
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def csv_upload(content: bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Keep uploads of each test in its own folder, so a test can see what was left behind."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def upload(django_capture_on_commit_callbacks) -> Callable:
    """POST a CSV as `client` and run the queued import as a commit would."""

    def post(
        client: APIClient, content: bytes, name: str = "leads.csv", path: str = "/api/csv-upload"
    ):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, {"file": csv_upload(content, name)}, format="multipart")

    return post


def streamed_text(response) -> str:
    """Return a streamed (async) response body as text, without its BOM."""

    async def collect() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]

    return b"".join(async_to_sync(collect)()).decode("utf-8-sig")

"""Refuse an upload over the import limit while it streams in, not after it is stored."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

# Room for the multipart envelope (boundaries, part headers, a CSRF field) around the file.
MULTIPART_ENVELOPE_BYTES = 64 * 1024
OVER_LIMIT_ATTRIBUTE = "upload_over_limit"


def upload_is_over_limit(request: HttpRequest) -> bool:
    return getattr(request, OVER_LIMIT_ATTRIBUTE, False)


def content_length_is_over_limit(request: HttpRequest) -> bool:
    declared = request.META.get("CONTENT_LENGTH") or ""
    limit = settings.IMPORT_MAX_BYTES + MULTIPART_ENVELOPE_BYTES
    return declared.isdigit() and int(declared) > limit


class SizeLimitUploadHandler(FileUploadHandler):
    """Count the file bytes of a multipart body and stop parsing once they pass IMPORT_MAX_BYTES.

    It sits first in FILE_UPLOAD_HANDLERS and passes chunks on unchanged, so the handlers after
    it store at most the limit. Parsing stops without reading the rest of the body, and the
    request is marked (`upload_is_over_limit`) for the view to answer 413.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.IMPORT_MAX_BYTES
        self.received = 0

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, OVER_LIMIT_ATTRIBUTE, True)

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.limit + MULTIPART_ENVELOPE_BYTES:
            self._refuse()
            # Returning a result tells Django the body is handled: nothing of it is read.
            return QueryDict(mutable=True), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

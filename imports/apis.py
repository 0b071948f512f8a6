from http import HTTPStatus

from django.core.files.uploadedfile import UploadedFile
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imports import exports
from imports.dnc import DncFileRejected, dnc_upload_rows
from imports.models import ImportStatus
from imports.parsing.dates import DATE_ORDERS
from imports.selectors import (
    import_get,
    import_list,
    import_mapping_get,
    import_mapping_list,
    import_row_error_list,
)
from imports.serializers import (
    ImportDryRunSerializer,
    ImportMappingSerializer,
    ImportPreviewSerializer,
    ImportSerializer,
    ImportUndoPlanSerializer,
    import_resource,
)
from imports.services import UploadTooLarge, import_start
from imports.steering import import_mapping_delete, import_preview, import_steer_run
from imports.undo import import_undo, import_undo_plan
from imports.upload import content_length_is_over_limit, upload_is_over_limit
from leads.apis import ERROR_SCHEMA, ID_SCHEMA
from leads.dnc import dnc_numbers_add
from leads.models import DoNotCallSource
from leads.pagination import PAGE_PARAMETERS, PageParamsSerializer, page_of, page_schema
from leads.tenancy import request_tenant

IMPORT_ID = OpenApiParameter("import_id", ID_SCHEMA, OpenApiParameter.PATH)
MAPPING_ID = OpenApiParameter("mapping_id", ID_SCHEMA, OpenApiParameter.PATH)
MAX_MAPPED_COLUMNS = 1000
DEPRECATED_ANSWER = {
    "error": "This endpoint is deprecated. Please use /api/csv-upload instead.",
    "use": "/api/csv-upload",
}
MAX_INVALID_LISTED = 100
UPLOAD_REQUEST = {
    "multipart/form-data": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
        "required": ["file"],
    }
}


def uploaded_file(request: Request) -> UploadedFile:
    """The multipart field `file` of an upload route: 413 past the limit, 400 when missing."""
    upload = request.FILES.get("file")
    if upload_is_over_limit(request._request):
        raise UploadTooLarge()
    if upload is None:
        missing = "No file was sent: post it as the multipart field 'file'."
        raise ValidationError({"file": [missing]})
    return upload


class CsvUploadApi(APIView):
    """Start an import of one CSV file into the caller's tenant."""

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # Before the body is parsed: a declared length over the limit is refused unread.
        if self.takes_uploads_from(request) and content_length_is_over_limit(request._request):
            raise UploadTooLarge()

    def takes_uploads_from(self, request: Request) -> bool:
        return True

    @extend_schema(
        request=UPLOAD_REQUEST,
        responses={
            201: ImportSerializer,
            202: ImportSerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        upload = uploaded_file(request)
        job = import_start(tenant=request_tenant(request), upload=upload)
        job.refresh_from_db()
        finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
        return Response(
            import_resource(job), status=HTTPStatus.CREATED if finished else HTTPStatus.ACCEPTED
        )


class DeprecatedCsvImportApi(CsvUploadApi):
    """The old upload route: gone for agents, kept for admins."""

    def takes_uploads_from(self, request: Request) -> bool:
        return request.user.is_staff

    @extend_schema(
        request=UPLOAD_REQUEST,
        deprecated=True,
        responses={
            201: ImportSerializer,
            202: ImportSerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            410: inline_serializer(
                "Deprecated", {"error": serializers.CharField(), "use": serializers.CharField()}
            ),
            413: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        if not self.takes_uploads_from(request):
            return Response(DEPRECATED_ANSWER, status=HTTPStatus.GONE)
        return super().post(request)


class ImportListApi(APIView):
    @extend_schema(
        operation_id="imports_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_schema("ImportPage", ImportSerializer(many=True)),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> Response:
        params = PageParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(
            page_of(
                import_list(tenant=request_tenant(request)),
                page=params.validated_data["page"],
                limit=params.validated_data["limit"],
                serialize=lambda page: ImportSerializer(page, many=True).data,
            )
        )


class ImportDetailApi(APIView):
    @extend_schema(
        parameters=[IMPORT_ID],
        responses={200: ImportSerializer, 401: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request, import_id: int) -> Response:
        return Response(
            import_resource(import_get(tenant=request_tenant(request), import_id=import_id))
        )


class ImportErrorsCsvApi(APIView):
    @extend_schema(
        parameters=[IMPORT_ID],
        responses={
            (200, "text/csv"): {"type": "string", "description": "line,error, then the row."},
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, import_id: int) -> StreamingHttpResponse:
        job = import_get(tenant=request_tenant(request), import_id=import_id)
        response = StreamingHttpResponse(
            exports.error_csv_chunks(job.header, import_row_error_list(job=job)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{exports.errors_filename(job)}"'
        return response


DNC_UPLOAD_ANSWER = inline_serializer(
    "DoNotCallUploaded",
    {
        "added": serializers.IntegerField(),
        "alreadyListed": serializers.IntegerField(),
        "invalid": serializers.IntegerField(),
        "invalidRows": inline_serializer(
            "DoNotCallInvalidRow",
            {"line": serializers.IntegerField(), "value": serializers.CharField()},
            many=True,
        ),
    },
)


class DncUploadApi(CsvUploadApi):
    """Add every number of a CSV to the caller's do-not-call list (CONTRACT §7)."""

    @extend_schema(
        operation_id="dnc_upload",
        request=UPLOAD_REQUEST,
        responses={200: DNC_UPLOAD_ANSWER, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 413: ERROR_SCHEMA},
    )
    def post(self, request: Request) -> Response:
        upload = uploaded_file(request)
        try:
            rows = dnc_upload_rows(upload=upload)
        except DncFileRejected as error:
            raise ValidationError({"file": [str(error)]}) from None
        result = dnc_numbers_add(
            tenant=request_tenant(request),
            numbers=rows,
            source=DoNotCallSource.UPLOAD,
            added_by=request_tenant(request),
        )
        return Response(
            {
                "added": result.added,
                "alreadyListed": result.already_listed,
                "invalid": len(result.invalid_rows),
                "invalidRows": [
                    {"line": line, "value": value}
                    for line, value in result.invalid_rows[:MAX_INVALID_LISTED]
                ],
            }
        )


class ImportPreviewApi(CsvUploadApi):
    """Store a CSV file and show how it would be imported, without importing it."""

    @extend_schema(
        operation_id="imports_preview",
        request=UPLOAD_REQUEST,
        responses={
            201: ImportPreviewSerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        upload = uploaded_file(request)
        job, preview = import_preview(tenant=request_tenant(request), upload=upload)
        return Response({**import_resource(job), "preview": preview}, status=HTTPStatus.CREATED)


class ImportRunRequestSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(max_length=100, allow_blank=False),
        required=False,
        default=dict,
        help_text="{header: a lead field (camelCase), 'keep' or 'ignore'}",
    )
    dryRun = serializers.BooleanField(required=False, default=False)
    saveMappingAs = serializers.CharField(
        required=False, allow_blank=True, max_length=255, default=""
    )
    dateOrder = serializers.ChoiceField(
        choices=DATE_ORDERS,
        required=False,
        default="",
        help_text="The order of the DOB column's day/month/year dates: dmy or mdy.",
    )

    def validate_mapping(self, mapping: dict[str, str]) -> dict[str, str]:
        if len(mapping) > MAX_MAPPED_COLUMNS:
            raise ValidationError(f"At most {MAX_MAPPED_COLUMNS} columns can be mapped.")
        return mapping


class ImportRunApi(APIView):
    @extend_schema(
        operation_id="imports_run",
        parameters=[IMPORT_ID],
        request=ImportRunRequestSerializer,
        responses={
            200: ImportDryRunSerializer,
            202: ImportSerializer,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, import_id: int) -> Response:
        job = import_get(tenant=request_tenant(request), import_id=import_id)
        params = ImportRunRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job, counts = import_steer_run(
            job=job,
            mapping=params.validated_data["mapping"],
            dry_run=params.validated_data["dryRun"],
            save_mapping_as=params.validated_data["saveMappingAs"],
            date_order=params.validated_data["dateOrder"],
        )
        if counts is not None:
            job.refresh_from_db()
            return Response({**import_resource(job), "dryRun": counts})
        job.refresh_from_db()
        return Response(import_resource(job), status=HTTPStatus.ACCEPTED)


class ImportUndoApi(APIView):
    @extend_schema(
        operation_id="imports_undo_plan",
        parameters=[IMPORT_ID],
        responses={
            200: ImportUndoPlanSerializer,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            410: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, import_id: int) -> Response:
        job = import_get(tenant=request_tenant(request), import_id=import_id)
        return Response(import_undo_plan(job=job))

    @extend_schema(
        operation_id="imports_undo",
        parameters=[IMPORT_ID],
        request=None,
        responses={
            202: ImportSerializer,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            410: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, import_id: int) -> Response:
        job = import_undo(job=import_get(tenant=request_tenant(request), import_id=import_id))
        return Response(import_resource(job), status=HTTPStatus.ACCEPTED)


class ImportMappingListApi(APIView):
    @extend_schema(
        operation_id="import_mappings_list",
        responses={200: ImportMappingSerializer(many=True), 401: ERROR_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        mappings = import_mapping_list(tenant=request_tenant(request))
        return Response(ImportMappingSerializer(mappings, many=True).data)


class ImportMappingDetailApi(APIView):
    @extend_schema(
        operation_id="import_mappings_delete",
        parameters=[MAPPING_ID],
        responses={204: None, 401: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def delete(self, request: Request, mapping_id: int) -> Response:
        mapping = import_mapping_get(tenant=request_tenant(request), mapping_id=mapping_id)
        import_mapping_delete(mapping=mapping)
        return Response(status=HTTPStatus.NO_CONTENT)

from django.urls import re_path

from imports.apis import (
    CsvUploadApi,
    DeprecatedCsvImportApi,
    DncUploadApi,
    ImportDetailApi,
    ImportErrorsCsvApi,
    ImportListApi,
    ImportMappingDetailApi,
    ImportMappingListApi,
    ImportPreviewApi,
    ImportRunApi,
    ImportUndoApi,
)

app_name = "imports"

urlpatterns = [
    re_path(r"^csv-upload/?$", CsvUploadApi.as_view(), name="upload"),
    re_path(r"^leads/import-csv/?$", DeprecatedCsvImportApi.as_view(), name="deprecated-upload"),
    re_path(r"^dnc/upload/?$", DncUploadApi.as_view(), name="dnc-upload"),
    re_path(r"^imports/?$", ImportListApi.as_view(), name="list"),
    re_path(r"^imports/preview/?$", ImportPreviewApi.as_view(), name="preview"),
    re_path(r"^imports/(?P<import_id>[0-9]{1,18})/run/?$", ImportRunApi.as_view(), name="run"),
    re_path(r"^imports/(?P<import_id>[0-9]{1,18})/undo/?$", ImportUndoApi.as_view(), name="undo"),
    re_path(r"^import-mappings/?$", ImportMappingListApi.as_view(), name="mappings"),
    re_path(
        r"^import-mappings/(?P<mapping_id>[0-9]{1,18})/?$",
        ImportMappingDetailApi.as_view(),
        name="mapping",
    ),
    re_path(r"^imports/(?P<import_id>[0-9]{1,18})/?$", ImportDetailApi.as_view(), name="detail"),
    re_path(
        r"^imports/(?P<import_id>[0-9]{1,18})/errors\.csv/?$",
        ImportErrorsCsvApi.as_view(),
        name="errors",
    ),
]

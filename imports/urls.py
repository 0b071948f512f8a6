from django.urls import re_path

from imports.apis import (
    CsvUploadApi,
    DeprecatedCsvImportApi,
    DncUploadApi,
    ImportDetailApi,
    ImportErrorsCsvApi,
    ImportListApi,
)

app_name = "imports"

urlpatterns = [
    re_path(r"^csv-upload/?$", CsvUploadApi.as_view(), name="upload"),
    re_path(r"^leads/import-csv/?$", DeprecatedCsvImportApi.as_view(), name="deprecated-upload"),
    re_path(r"^dnc/upload/?$", DncUploadApi.as_view(), name="dnc-upload"),
    re_path(r"^imports/?$", ImportListApi.as_view(), name="list"),
    re_path(r"^imports/(?P<import_id>[0-9]{1,18})/?$", ImportDetailApi.as_view(), name="detail"),
    re_path(
        r"^imports/(?P<import_id>[0-9]{1,18})/errors\.csv/?$",
        ImportErrorsCsvApi.as_view(),
        name="errors",
    ),
]

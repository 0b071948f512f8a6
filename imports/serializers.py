"""The import resource of CONTRACT §3: one shape for the API and the socket events."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from imports.models import ImportJob


class ImportStatsSerializer(serializers.Serializer):
    processed = serializers.IntegerField()
    imported = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    doNotCall = serializers.IntegerField(help_text="Rows whose lead is on the do-not-call list.")


class ImportLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class ImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    fileName = serializers.CharField(source="file_name")
    fileSize = serializers.IntegerField(source="file_size")
    vendor = serializers.CharField()
    totalRows = serializers.IntegerField(source="total_rows")
    stats = serializers.SerializerMethodField()
    errors = ImportLineSerializer(many=True)
    warnings = ImportLineSerializer(many=True)
    warningCount = serializers.IntegerField(source="warning_count")
    failure = serializers.CharField()
    errorsUrl = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at")
    url = serializers.SerializerMethodField()

    @extend_schema_field(ImportStatsSerializer)
    def get_stats(self, job: ImportJob) -> dict[str, int]:
        return {
            "processed": job.processed,
            "imported": job.imported,
            "updated": job.updated,
            "skipped": job.skipped,
            "failed": job.failed,
            "doNotCall": job.do_not_call,
        }

    def get_errorsUrl(self, job: ImportJob) -> str:
        return reverse("imports:errors", kwargs={"import_id": job.pk})

    def get_url(self, job: ImportJob) -> str:
        return reverse("imports:detail", kwargs={"import_id": job.pk})


def import_resource(job: ImportJob) -> dict[str, Any]:
    return ImportSerializer(job).data

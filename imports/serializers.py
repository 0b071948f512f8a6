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


class BlankAsNullField(serializers.CharField):
    def to_representation(self, value: str) -> str | None:  # type: ignore[override]  # null for blank, by design
        return value or None


class ImportUndoSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()
    restored = serializers.IntegerField()
    kept = serializers.IntegerField()
    keptLeads = serializers.ListField(child=serializers.IntegerField())


class ImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    fileName = serializers.CharField(source="file_name")
    fileSize = serializers.IntegerField(source="file_size")
    vendor = serializers.CharField()
    totalRows = serializers.IntegerField(source="total_rows")
    stats = serializers.SerializerMethodField()
    # The resource's field is named errors (docs/api.md); it shadows Serializer.errors, which an
    # output-only serializer never reads.
    errors = ImportLineSerializer(many=True)  # type: ignore[assignment]
    warnings = ImportLineSerializer(many=True)
    warningCount = serializers.IntegerField(source="warning_count")
    failure = serializers.CharField()
    errorsUrl = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at")
    url = serializers.SerializerMethodField()
    mappingName = BlankAsNullField(source="mapping_name", allow_null=True)
    undo = ImportUndoSerializer(allow_null=True)

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


class ImportColumnSerializer(serializers.Serializer):
    header = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(min_value=0, max_value=1)
    reason = serializers.ChoiceField(["exact", "alias", "learned", "fuzzy", "none"])
    suggestion = serializers.CharField()
    dateOrder = serializers.ChoiceField(["dmy", "mdy", "mixed"], allow_null=True)
    dateOrderAssumed = serializers.BooleanField()


class ImportSampleRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    cells = serializers.ListField(child=serializers.CharField())
    lead = serializers.DictField()
    problems = serializers.ListField(child=serializers.CharField())


class ImportPreviewBodySerializer(serializers.Serializer):
    encoding = serializers.CharField()
    delimiter = serializers.CharField()
    rows = serializers.IntegerField()
    columns = ImportColumnSerializer(many=True)
    sample = ImportSampleRowSerializer(many=True)
    mappingName = serializers.CharField(allow_null=True)


class ImportPreviewSerializer(ImportSerializer):
    preview = ImportPreviewBodySerializer()


class ImportDryRunCountsSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    doNotCall = serializers.IntegerField()


class ImportDryRunSerializer(ImportSerializer):
    dryRun = ImportDryRunCountsSerializer()


class ImportUndoPlanSerializer(serializers.Serializer):
    delete = serializers.IntegerField()
    restore = serializers.IntegerField()
    keep = serializers.IntegerField()
    keptLeads = serializers.ListField(child=serializers.IntegerField())


class ImportMappingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    headers = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(child=serializers.CharField())
    dateOrder = BlankAsNullField(source="date_order", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class ImportStatus(models.TextChoices):
    PREVIEW = "preview"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"


class ImportVendor(models.TextChoices):
    NEXTGEN = "NextGen"
    MARKETPLACE = "Marketplace"
    GENERIC = "Generic"


class ImportJob(models.Model):
    """One uploaded CSV file and what became of its rows. The uploader is the tenant."""

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imports"
    )
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField()
    storage_name = models.CharField(
        max_length=255, blank=True, help_text="The upload in the default storage; empty once gone."
    )
    vendor = models.CharField(max_length=20, choices=ImportVendor.choices)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )

    header = models.JSONField(default=list, blank=True, help_text="The file's column names.")
    total_rows = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    do_not_call = models.PositiveIntegerField(
        default=0, help_text="Rows whose lead is on the agent's do-not-call list."
    )
    errors = models.JSONField(
        default=list, blank=True, help_text="The first 100 rejected rows: [{line, message}]."
    )
    warnings = models.JSONField(
        default=list, blank=True, help_text="The first 100 warnings: [{line, message}]."
    )
    warning_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="Why the whole import failed, if it did.")

    # The agent's mapping (imports.steering): per column, a lead field name (camelCase),
    # "keep" or "ignore". Empty: the columns the layout detection recognises.
    columns = models.JSONField(default=list, blank=True)
    mapping_name = models.CharField(max_length=255, blank=True)
    # {column index: "dmy" | "mdy" | "mixed"}: the order of the file's day/month/year date
    # columns, decided from the whole file or chosen by the agent (imports.parsing.dates).
    # Null for imports stored before: each value is read on its own.
    date_orders = models.JSONField(null=True, blank=True, default=None)
    undo = models.JSONField(
        null=True, blank=True, help_text="What undoing did: {deleted, restored, kept, keptLeads}."
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    # Who runs the import, and until when (imports.services: lease, heartbeat, checkpoint).
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="How many runs took the job; more than one means it was resumed."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="import_tenant_created"),
            models.Index(
                fields=["lease_expires_at"],
                name="import_unfinished_lease",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


class ImportRowError(models.Model):
    """A row the import rejected, with its original cells, for errors.csv."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    line = models.PositiveIntegerField(
        help_text="The file line the row starts on; 1 is the header."
    )
    message = models.TextField()
    columns = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["line", "pk"]
        indexes = [models.Index(fields=["job", "line"], name="import_error_job_line")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportMapping(models.Model):
    """A tenant's column mapping for one vendor's header, saved or learned from a run."""

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_mappings"
    )
    name = models.CharField(max_length=255)
    headers = models.JSONField(default=list, help_text="The file's column names, in order.")
    header_key = models.CharField(
        max_length=64, help_text="Digest of the headers as matched (case and punctuation aside)."
    )
    mapping = models.JSONField(default=dict, help_text="{header: field | 'keep' | 'ignore'}")
    date_order = models.CharField(
        max_length=3,
        blank=True,
        help_text="dmy or mdy: the order of the DOB column when no date in the file tells.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "header_key"], name="import_mapping_unique_header"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def choices(self) -> list[str]:
        """The mapping per column, in the order of `headers` (which a matching file shares)."""
        return [self.mapping.get(name, "keep") for name in self.headers]

    def used(self) -> None:
        ImportMapping.objects.filter(pk=self.pk).update(last_used_at=timezone.now())


class ImportLeadRecord(models.Model):
    """What one batch of an import did to leads, so the import can be undone.

    Written in the batch's own transaction (its checkpoint), one row per batch: the ids of the
    leads it created, and for the stored leads it updated, the fields it replaced as
    [lead id, updated_at it left, {field: old}, {field: new}].
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="lead_records")
    created_ids = models.JSONField(default=list, blank=True)
    replaced = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)

    def __str__(self) -> str:
        return f"import {self.job_id}: {len(self.created_ids)} created"

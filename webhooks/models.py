from django.conf import settings
from django.db import models
from django.db.models import Q


class NextGenCredential(models.Model):
    """The sid/apikey pair NextGen sends with each webhook call. Only a hash of the key is kept."""

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nextgen_credentials"
    )
    sid = models.CharField(max_length=64, unique=True)
    key_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(is_active=True), name="nextgen_one_active_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sid} ({'active' if self.is_active else 'rotated'})"


class DeadLetterStatus(models.TextChoices):
    OPEN = "open", "Open: not stored"
    REDRIVEN = "redriven", "Re-driven: queued again"


class QueuedLeadDeadLetter(models.Model):
    """A queued fast-path lead that could not be stored, kept so that nothing is lost.

    The worker writes one when a queued lead fails its re-validation or keeps raising something
    other than a database outage (a bug). Staff see it in the admin, may correct the payload,
    and re-drive it onto the queue (docs/durability.md).
    """

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dead_letters"
    )
    stub_id = models.CharField(max_length=64, unique=True, help_text="The queued lead's stub id.")
    trace_id = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(help_text="The body the vendor sent, as it was queued.")
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=0, help_text="Store attempts, all runs.")
    status = models.CharField(
        max_length=10, choices=DeadLetterStatus.choices, default=DeadLetterStatus.OPEN
    )
    first_seen_at = models.DateTimeField(help_text="When the vendor's call was queued.")
    last_seen_at = models.DateTimeField(help_text="When a worker last failed to store it.")
    redriven_at = models.DateTimeField(null=True, blank=True)
    redrive_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["status", "-last_seen_at"], name="dead_letter_status")]

    def __str__(self) -> str:
        return f"{self.stub_id} ({self.status})"


class FastPathChange(models.Model):
    """One flip of the webhook fast path; the latest says whether it is on (webhooks.switch).

    Until the first flip, USE_FAST_PATH decides.
    """

    enabled = models.BooleanField()
    changed_by = models.CharField(
        max_length=200, help_text="Who flipped it: a staff user, or the command that did."
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        get_latest_by = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"fast path {'on' if self.enabled else 'off'} by {self.changed_by}"

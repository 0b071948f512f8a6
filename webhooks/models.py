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

from django.contrib import admin

from webhooks.models import NextGenCredential


@admin.register(NextGenCredential)
class NextGenCredentialAdmin(admin.ModelAdmin):
    """Keys are stored as hashes and never shown; issue or rotate them with the command or page."""

    list_display = ["sid", "tenant", "is_active", "created_at", "rotated_at"]
    list_filter = ["is_active"]
    search_fields = ["sid", "tenant__username"]
    fields = ["tenant", "sid", "is_active", "created_at", "rotated_at"]
    readonly_fields = ["tenant", "sid", "created_at", "rotated_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

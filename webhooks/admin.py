from django.contrib import admin
from django.db import transaction

from webhooks.models import NextGenCredential
from webhooks.services import nextgen_credentials_forget


@admin.register(NextGenCredential)
class NextGenCredentialAdmin(admin.ModelAdmin):
    """Keys are stored as hashes and never shown; issue or rotate them with the command or page."""

    list_display = ["sid", "tenant", "is_active", "created_at", "rotated_at"]
    list_filter = ["is_active"]
    search_fields = ["sid", "tenant__username"]
    fields = ["tenant", "sid", "is_active", "created_at", "rotated_at"]
    readonly_fields = ["tenant", "sid", "created_at", "rotated_at"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # A retired pair stays retired: turning it back on would revive a key its owner replaced,
        # and would break the one-active-pair-per-tenant constraint.
        if obj is not None and not obj.is_active:
            return [*self.readonly_fields, "is_active"]
        return self.readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not obj.is_active:
            # Its outage copy goes too, or the fast path would accept it while the database is
            # down (docs/failures.md).
            pair = [(obj.sid, obj.key_hash)]
            transaction.on_commit(lambda: nextgen_credentials_forget(pairs=pair))

from django.contrib import admin, messages
from django.db import transaction

from webhooks.dead_letters import dead_letter_redrive
from webhooks.models import NextGenCredential, QueuedLeadDeadLetter
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


@admin.register(QueuedLeadDeadLetter)
class QueuedLeadDeadLetterAdmin(admin.ModelAdmin):
    """Queued leads a worker could not store. Correct the payload if it needs it, then re-drive."""

    list_display = ["stub_id", "tenant", "status", "attempts", "first_seen_at", "last_seen_at"]
    list_filter = ["status"]
    search_fields = ["stub_id", "trace_id", "tenant__username"]
    readonly_fields = [
        "tenant",
        "stub_id",
        "trace_id",
        "error",
        "attempts",
        "status",
        "first_seen_at",
        "last_seen_at",
        "redriven_at",
        "redrive_count",
    ]
    actions = ["redrive"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Re-drive: queue the selected leads again")
    def redrive(self, request, queryset) -> None:
        queued = dead_letter_redrive(letters=list(queryset))
        skipped = queryset.count() - queued
        self.message_user(
            request,
            f"{queued} queued again"
            + (f"; {skipped} skipped (already re-driven)." if skipped else "."),
            messages.SUCCESS,
        )

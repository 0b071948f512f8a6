from django.contrib import admin, messages
from django.db import transaction

from webhooks.dead_letters import dead_letter_redrive
from webhooks.models import FastPathChange, NextGenCredential, QueuedLeadDeadLetter
from webhooks.services import nextgen_credentials_forget
from webhooks.switch import fast_path_enabled, fast_path_set


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


@admin.register(FastPathChange)
class FastPathChangeAdmin(admin.ModelAdmin):
    """The fast-path switch: add a change to flip it for every web process within seconds.

    The list is its history (who, when); a change is never edited or deleted.
    """

    list_display = ["changed_at", "enabled", "changed_by"]
    fields = ["enabled"]

    def changelist_view(self, request, extra_context=None):
        state = "on" if fast_path_enabled() else "off"
        extra_context = {**(extra_context or {}), "title": f"Webhook fast path: {state} now"}
        return super().changelist_view(request, extra_context)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        saved = fast_path_set(
            enabled=obj.enabled, changed_by=f"admin: {request.user.get_username()}"
        )
        obj.pk, obj.changed_by, obj.changed_at = saved.pk, saved.changed_by, saved.changed_at
        messages.info(request, f"Fast path turned {'on' if obj.enabled else 'off'}.")

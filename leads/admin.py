from collections.abc import Sequence

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from leads.models import CallAttempt, CallingRule, Disposition, InvitePasscode, Lead, LeadEvent
from leads.tenancy import request_tenant


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "phone",
        "email",
        "state",
        "source",
        "status",
        "disposition",
        "tenant",
        "created_at",
    ]
    list_filter = ["source", "status", "disposition", "state", "tenant"]
    search_fields = ["first_name", "last_name", "email", "phone", "nextgen_id"]
    list_select_related = ["tenant"]
    raw_id_fields = ["tenant", "assigned_to"]
    readonly_fields = ["created_at", "updated_at", "history"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Timeline")
    def history(self, lead: Lead) -> str:
        if lead.pk is None:
            return "—"
        url = reverse("admin:leads_leadevent_changelist") + f"?lead__id__exact={lead.pk}"
        return format_html('<a href="{}">Events of this lead</a>', url)

    def get_deleted_objects(
        self, objs: Sequence[Lead] | QuerySet[Lead], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        # A lead's story goes with the lead; it is only never edited or deleted on its own.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(LeadEvent._meta.verbose_name)
        return deleted, counts, perms_needed, protected


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin):
    list_display = ["name", "emoji", "color", "order", "tenant"]
    list_filter = [("tenant", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    list_editable = ["order"]


@admin.register(InvitePasscode)
class InvitePasscodeAdmin(admin.ModelAdmin):
    list_display = ["code", "description", "uses", "max_uses", "expires_at", "active", "created_by"]
    list_filter = ["active"]
    search_fields = ["code", "description"]
    readonly_fields = ["uses", "created_by", "created_at"]
    fields = ["code", "description", "max_uses", "uses", "expires_at", "active", "created_by",
              "created_at"]  # fmt: skip

    def save_model(self, request, obj: InvitePasscode, form, change: bool) -> None:
        if not change:
            obj.created_by = request_tenant(request)
        super().save_model(request, obj, form, change)


@admin.register(CallingRule)
class CallingRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "start", "end", "max_calls_per_24h", "notes"]
    search_fields = ["state", "notes"]


@admin.register(CallAttempt)
class CallAttemptAdmin(admin.ModelAdmin):
    list_display = ["lead", "at", "outcome", "override_reason", "by", "tenant"]
    list_filter = ["outcome"]
    raw_id_fields = ["lead", "tenant", "by"]
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(LeadEvent)
class LeadEventAdmin(admin.ModelAdmin):
    """A lead's timeline (docs/call-loop.md): read only. History is recorded by the services
    where things happen; an edited or deleted entry would make the story lie."""

    list_display = ["at", "lead", "kind", "data", "by", "tenant"]
    list_filter = ["kind"]
    # A lead's events: ?lead__id__exact=<id> (linked from the lead), or its id in the search.
    search_fields = ["=lead__id"]
    list_select_related = ["lead", "by", "tenant"]
    ordering = ["-at", "-id"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LeadEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LeadEvent | None = None) -> bool:
        return False

from django.contrib import admin

from leads.models import CallAttempt, CallingRule, Disposition, InvitePasscode, Lead
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
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False


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

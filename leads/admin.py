from django.contrib import admin

from leads.models import Disposition, Lead


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "phone", "email", "state", "source", "status", "disposition",
                    "tenant", "created_at"]
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

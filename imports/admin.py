from django.contrib import admin

from imports.models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Imports are made by uploads; the admin only looks."""

    list_display = ["file_name", "tenant", "vendor", "status", "processed", "failed", "created_at"]
    list_filter = ["status", "vendor"]
    search_fields = ["file_name", "tenant__username"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    exclude = ["header"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

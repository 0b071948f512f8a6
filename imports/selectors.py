"""Reads of imports. Every function takes the tenant; none can see another tenant's imports."""

from django.contrib.auth.models import User
from django.db.models import F, QuerySet
from django.http import Http404

from imports.models import ImportJob, ImportMapping, ImportRowError, ImportStatus
from imports.parsing.layouts import header_key


def import_list(*, tenant: User) -> QuerySet[ImportJob]:
    """Return the tenant's imports, newest first."""
    return ImportJob.objects.filter(tenant=tenant).order_by("-created_at", "-pk")


def import_history(*, tenant: User) -> QuerySet[ImportJob]:
    """Return the tenant's imports that ran (or are running), newest first: no previews."""
    return import_list(tenant=tenant).exclude(status=ImportStatus.PREVIEW)


def import_get(*, tenant: User, import_id: int) -> ImportJob:
    """Return the tenant's import; another tenant's import is as absent as a missing one."""
    try:
        return ImportJob.objects.get(tenant=tenant, pk=import_id)
    except ImportJob.DoesNotExist:
        raise Http404("No such import.") from None


def import_row_error_list(*, job: ImportJob) -> QuerySet[ImportRowError]:
    return job.row_errors.order_by("line", "pk")


def import_mapping_list(*, tenant: User) -> QuerySet[ImportMapping]:
    """Return the tenant's saved mappings, last used first."""
    return ImportMapping.objects.filter(tenant=tenant).order_by(
        F("last_used_at").desc(nulls_last=True), "-created_at", "-pk"
    )


def import_mapping_get(*, tenant: User, mapping_id: int) -> ImportMapping:
    try:
        return ImportMapping.objects.get(tenant=tenant, pk=mapping_id)
    except ImportMapping.DoesNotExist:
        raise Http404("No such mapping.") from None


def import_mapping_for_header(*, tenant: User, header: list[str]) -> ImportMapping | None:
    """Return the tenant's saved mapping for exactly this header (case and punctuation aside)."""
    return ImportMapping.objects.filter(tenant=tenant, header_key=header_key(header)).first()

"""Reads of imports. Every function takes the tenant; none can see another tenant's imports."""

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, Q, QuerySet
from django.http import Http404

from imports.models import ImportJob, ImportLeadRecord, ImportMapping, ImportRowError, ImportStatus
from imports.parsing.layouts import header_key
from leads.models import Lead


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


# How far apart the web process that created a job and the worker that wrote its leads may
# keep time: the job's window is widened by this much on each side.
CLOCK_SLACK = timedelta(minutes=5)


def import_id_of_lead(lead: Lead) -> int | None:
    """Return the id of the import that created `lead` (from its undo record), or None.

    Only the tenant's imports running when the lead was created are searched, so the containment
    test reads the records of one import, not of every import the tenant ever ran.
    """
    running_then = Q(job__finished_at__isnull=True) | Q(
        job__finished_at__gte=lead.created_at - CLOCK_SLACK
    )
    return (
        ImportLeadRecord.objects.filter(
            running_then,
            job__tenant_id=lead.tenant_id,
            job__created_at__lte=lead.created_at + CLOCK_SLACK,
            created_ids__contains=[lead.pk],
        )
        .values_list("job_id", flat=True)
        .first()
    )


def lead_arrival_import(lead: Lead) -> dict[str, Any]:
    """The import a lead came from, for its timeline's arrival (registered in imports/apps.py)."""
    import_id = import_id_of_lead(lead)
    return {"importId": import_id} if import_id is not None else {}

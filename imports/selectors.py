"""Reads of imports. Every function takes the tenant; none can see another tenant's imports."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from imports.models import ImportJob, ImportRowError


def import_list(*, tenant: AbstractBaseUser) -> QuerySet[ImportJob]:
    """Return the tenant's imports, newest first."""
    return ImportJob.objects.filter(tenant=tenant).order_by("-created_at", "-pk")


def import_get(*, tenant: AbstractBaseUser, import_id: int) -> ImportJob:
    """Return the tenant's import; another tenant's import is as absent as a missing one."""
    try:
        return ImportJob.objects.get(tenant=tenant, pk=import_id)
    except ImportJob.DoesNotExist:
        raise Http404("No such import.") from None


def import_row_error_list(*, job: ImportJob) -> QuerySet[ImportRowError]:
    return job.row_errors.order_by("line", "pk")

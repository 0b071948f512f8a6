"""Undo an import: take back what it did to leads, except where someone changed them since.

Each batch of an import records, in its own transaction, the leads it created and, for the
stored leads it updated, the values it replaced (imports.models.ImportLeadRecord). A lead is
"untouched since" when its `updated_at` is still the one the import's last write to it left:
any later write (the agent's edit, a later import, the webhook) moves it. docs/imports.md.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from imports.models import ImportJob, ImportLeadRecord, ImportStatus
from leads.errors import Busy, Expired
from leads.selectors import lead_versions
from leads.services import lead_delete_unchanged, lead_restore_unchanged

UNDO_WINDOW = timedelta(days=30)
LISTED_KEPT = 100


class ImportBusy(Busy):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "The import is still running; undo it once it has finished.")


class UndoExpired(Expired):
    def __init__(self) -> None:
        super().__init__("The import finished more than 30 days ago and can no longer be undone.")


@dataclass
class UndoPlan:
    # lead id → the updated_at it must still have to be deleted / restored
    delete: dict[int, datetime] = field(default_factory=dict)
    restore: dict[int, tuple[datetime, dict[str, Any]]] = field(default_factory=dict)
    keep: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "delete": len(self.delete),
            "restore": len(self.restore),
            "keep": len(self.keep),
            "keptLeads": self.keep[:LISTED_KEPT],
        }


def _check_undoable(job: ImportJob, now: datetime) -> None:
    if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.PREVIEW):
        raise ImportBusy(
            "The import has not run yet; there is nothing to undo."
            if job.status == ImportStatus.PREVIEW
            else None
        )
    if job.finished_at is not None and now - job.finished_at > UNDO_WINDOW:
        raise UndoExpired()


def import_undo_plan(*, job: ImportJob, now: datetime | None = None) -> dict[str, Any]:
    """Say what undoing the import would do now: {delete, restore, keep, keptLeads}."""
    if job.status == ImportStatus.UNDONE:
        undone = job.undo or {}  # set by the undo that made the job UNDONE
        return {"delete": 0, "restore": 0, "keep": undone["kept"], "keptLeads": undone["keptLeads"]}
    _check_undoable(job, now or timezone.now())
    return _plan(job).summary()


def import_undo(*, job: ImportJob, now: datetime | None = None) -> ImportJob:
    """Undo the import: delete the leads it created that nobody changed since, give the leads it
    updated their old values back where nobody changed them since, keep the others as they are.
    Running it again changes nothing and gives the same result."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.UNDONE:
            return job
        _check_undoable(job, now or timezone.now())
        plan = _plan(job)
        deleted = lead_delete_unchanged(tenant_id=job.tenant_id, versions=plan.delete)
        restored = lead_restore_unchanged(tenant_id=job.tenant_id, restores=plan.restore)
        # A lead changed between the plan and its lock is kept too.
        kept = plan.keep + [pk for pk in plan.delete if pk not in set(deleted)]
        restored_ids = set(restored)
        kept += [pk for pk in plan.restore if pk not in restored_ids]
        job.undo = {
            "deleted": len(deleted),
            "restored": len(restored),
            "kept": len(kept),
            "keptLeads": sorted(kept)[:LISTED_KEPT],
        }
        job.status = ImportStatus.UNDONE
        job.undone_at = timezone.now()
        job.save(update_fields=["undo", "status", "undone_at"])
        ImportLeadRecord.objects.filter(job=job).delete()
    return job


def _plan(job: ImportJob) -> UndoPlan:
    created: list[int] = []
    # lead id → [(updated_at left, old values or None, new values)] in write order
    updates: dict[int, list[tuple[datetime | None, dict[str, Any] | None]]] = {}
    for created_ids, replaced in job.lead_records.order_by("pk").values_list(
        "created_ids", "replaced"
    ):
        created += created_ids
        for lead_id, written_at, old, _new in replaced:
            updates.setdefault(lead_id, []).append((parse_datetime(written_at), old))
    created_set = set(created)
    current = lead_versions(tenant_id=job.tenant_id, lead_ids=sorted(created_set | updates.keys()))
    plan = UndoPlan()
    for lead_id in sorted(current):
        created_at, updated_at = current[lead_id]
        writes = updates.get(lead_id, [])
        left_at = writes[-1][0] if writes else created_at
        if updated_at != left_at:
            plan.keep.append(lead_id)
        elif lead_id in created_set:
            plan.delete[lead_id] = updated_at
        elif any(old is None for _, old in writes):
            plan.keep.append(lead_id)  # written one at a time, old values unknown
        else:
            old_values: dict[str, Any] = {}
            for _, old in writes:  # the value before the import's first change of each field
                for name, value in (old or {}).items():
                    old_values.setdefault(name, value)
            plan.restore[lead_id] = (updated_at, old_values)
    return plan

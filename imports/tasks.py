from celery import shared_task
from django.conf import settings

from imports.models import ImportJob
from imports.services import IMPORT_RUN_TASK, ImportInterrupted, import_run


# Acknowledged late, like every task: if the worker dies, the broker hands it out again. That is
# a convenience, not what keeps the import: its lease does (imports.services). A copy that comes
# while the run holds its lease does nothing; a run whose worker died is queued again by the
# lease check (crokodial.celery) even if the broker never redelivers.
@shared_task(name=IMPORT_RUN_TASK, bind=True, max_retries=None)
def import_run_task(self, job_id: int) -> None:
    """Run one import, or resume it. A task for a job another run holds does nothing."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        import_run(job=job)
    except ImportInterrupted as error:
        if self.request.is_eager:  # no worker to come back later: the lease check will
            return
        # Once the database is back; the lease was released, or expires by then.
        raise self.retry(exc=error, countdown=settings.IMPORT_LEASE_SECONDS) from error

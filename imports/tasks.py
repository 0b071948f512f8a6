from celery import shared_task

from imports.models import ImportJob
from imports.services import import_run


@shared_task(name="imports.run")
def import_run_task(job_id: int) -> None:
    """Run one import. A redelivered task for a finished import does nothing."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None:
        import_run(job=job)

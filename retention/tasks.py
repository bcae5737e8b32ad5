"""Retention's Celery tasks: thin entry points registered under ``retention.task_names``."""

from celery import shared_task

from retention import run, schedules


# No retry and no late ack: a run deletes; a task whose worker died is not run again by another
# worker (the job watchdog fails its job, and the next preview shows what is left).
@shared_task(ignore_result=True, acks_late=False, max_retries=0, soft_time_limit=3600, time_limit=3900)
def run_retention(job_id: int) -> None:
    """Run the retention job queued by the API, the page or a schedule."""
    run.run(job_id)


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=180)
def scheduled_retention(policy_id: int) -> None:
    """Fired by django-celery-beat: queue a run of the policy as the scheduler."""
    schedules.fire(policy_id)

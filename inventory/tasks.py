"""The inventory's Celery tasks: thin entry points for its sync job and its upkeep.

Registered under the names in ``inventory.task_names`` (the names they had in maintenance,
which beat's entries store); the web side sends them by those names.
"""

import contextlib
import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from inventory import events, jobs, task_names
from inventory.models import Repository
from jobs.models import Job
from jobs.services import JobBusy

logger = logging.getLogger(__name__)


@shared_task(
    name=task_names.RUN_SYNC,
    ignore_result=True,
    acks_late=False,
    soft_time_limit=jobs.SYNC_TIME_LIMIT,
    time_limit=jobs.SYNC_TIME_LIMIT + 60,
)
def run_sync(job_id: int) -> None:
    """A sync job queued by the API, "Sync now", the schedule or a worker's start."""
    jobs.SyncJob.handle(job_id)


@shared_task(name=task_names.SCHEDULED_SYNC, ignore_result=True, soft_time_limit=50, time_limit=60)
def scheduled_sync() -> None:
    """Beat, every INVENTORY_SYNC_INTERVAL seconds: queue a sync unless one is queued or running."""
    with contextlib.suppress(JobBusy):
        jobs.queue_sync(reason="schedule")


@shared_task(name=task_names.PRUNE_EVENTS, ignore_result=True, soft_time_limit=300, time_limit=360)
def prune_events() -> None:
    deleted = events.prune()
    if deleted:
        logger.info("inventory: deleted %d events older than %d days", deleted, settings.EVENTS_RETENTION_DAYS)


@worker_ready.connect
def sync_when_empty(**kwargs: object) -> None:
    """A worker starts and the inventory is empty (a new install): fill it now, not in 5 minutes."""
    if not settings.INVENTORY_SYNC_ON_START:
        return
    try:
        if not Repository.objects.exists() and not Job.objects.filter(kind=Job.Kind.SYNC).exists():
            jobs.queue_sync(reason="first start")
    except JobBusy:
        pass
    except Exception:  # the database is not migrated yet: beat's schedule fills it later
        logger.exception("inventory: could not queue the first sync")

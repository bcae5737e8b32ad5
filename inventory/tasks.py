"""Celery tasks of the inventory: take primitive ids; the logic is in inventory.sync and inventory.events."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from inventory import events, sync
from inventory.models import Repository
from maintenance import jobs
from maintenance.models import Job

logger = logging.getLogger(__name__)

SYNC_TIME_LIMIT = 3600


class SyncRunning(Exception):
    def __init__(self, job: Job) -> None:
        super().__init__(f"Inventory sync job {job.pk} is already {job.status}.")
        self.job = job


def active_sync() -> Job | None:
    """The queued or running sync, after failing those no worker took or a dead worker left running."""
    jobs.expire_unclaimed(Job.Kind.SYNC, settings.GC_QUEUE_TIMEOUT)
    cutoff = timezone.now() - timedelta(seconds=SYNC_TIME_LIMIT + 300)
    for job in Job.objects.filter(kind=Job.Kind.SYNC, status=Job.Status.RUNNING, started_at__lt=cutoff):
        jobs.fail(job, "The worker running this sync stopped before it ended (time limit passed).")
    return Job.objects.filter(kind=Job.Kind.SYNC, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()


def queue_sync(
    *, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None, reason: str = "manual"
) -> Job:
    """Queue a reconcile; SyncRunning with the active job when one is queued or running."""
    running = active_sync()
    if running is not None:
        raise SyncRunning(running)
    return jobs.enqueue(run_sync, Job.Kind.SYNC, {"reason": reason}, request=request, user=user)


@shared_task(ignore_result=True, acks_late=False, soft_time_limit=SYNC_TIME_LIMIT, time_limit=SYNC_TIME_LIMIT + 60)
def run_sync(job_id: int) -> None:
    job = jobs.claim(job_id)
    if job is None:
        return
    try:
        events.apply_pending()
        figures = sync.reconcile(log=lambda line: jobs.log(job, line))
        events.apply_pending()  # what arrived while the reconcile ran
    except Exception as e:
        message = getattr(e, "message", None) or str(e)
        jobs.fail(job, f"The inventory sync failed: {message}")
        raise
    jobs.succeed(job, figures.as_dict())


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=60)
def scheduled_sync() -> None:
    """Beat, every INVENTORY_SYNC_INTERVAL seconds: queue a reconcile unless one is queued or running."""
    with contextlib.suppress(SyncRunning):
        queue_sync(reason="schedule")


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
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
            queue_sync(reason="first start")
    except SyncRunning:
        pass
    except Exception:  # the database is not migrated yet: beat's schedule fills it later
        logger.exception("inventory: could not queue the first sync")

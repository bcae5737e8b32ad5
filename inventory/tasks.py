"""The inventory's Celery tasks: thin entry points for its sync job, its events and its upkeep.

Registered under the names in ``inventory.task_names`` (the sync's keep the names they had in
maintenance, which beat's entries store); the web side sends them by those names.
"""

from __future__ import annotations

import contextlib
import logging
import time

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import OperationalError

from core.worker import send
from inventory import events, files, gaps, jobs, receiving, scrub, sync_files, task_names
from inventory import sync as inventory_sync
from jobs import child
from jobs.services import JobBusy

logger = logging.getLogger(__name__)

COALESCE = 0.25  # seconds


@shared_task(
    name=task_names.RUN_SYNC,
    ignore_result=True,
    acks_late=False,
    soft_time_limit=jobs.SYNC_TIME_LIMIT,
    time_limit=jobs.SYNC_TIME_LIMIT + 60,
)
def run_sync(job_id: int) -> None:
    """A sync job queued by the API, "Sync now", the schedule, a worker's start or an events gap.

    In a child process forked for the job (``jobs.child``, JOB_CHILD_PROCESS): what a sync of
    10,000 repositories builds leaves with the child instead of staying with the worker."""
    if child.enabled():
        child.run_in_child(jobs.SyncJob.handle, job_id)
    else:
        jobs.SyncJob.handle(job_id)


@shared_task(name=task_names.SCHEDULED_SYNC, ignore_result=True, soft_time_limit=50, time_limit=60)
def scheduled_sync() -> None:
    """Beat, every INVENTORY_SYNC_INTERVAL seconds (and an events gap, at once): queue a sync unless
    one is queued or running."""
    with contextlib.suppress(JobBusy):
        jobs.queue_sync(reason="schedule")


@shared_task(
    name=task_names.RUN_SCRUB,
    ignore_result=True,
    acks_late=False,
    soft_time_limit=scrub.SCRUB_TIME_LIMIT,
    time_limit=scrub.SCRUB_TIME_LIMIT + 60,
)
def run_scrub(job_id: int) -> None:
    """A scrub job queued by an admin, the schedule or the restore check."""
    scrub.ScrubJob.handle(job_id)


@shared_task(name=task_names.SCHEDULED_SCRUB, ignore_result=True, soft_time_limit=50, time_limit=60)
def scheduled_scrub() -> None:
    """Beat, every SCRUB_INTERVAL_HOURS: queue a scrub unless one is queued or running, or the
    storage files cannot be read (logged: the Registry page says why)."""
    try:
        scrub.queue_scrub(reason="schedule")
    except JobBusy:
        pass
    except scrub.ScrubUnavailable as e:
        logger.warning("inventory: no scheduled scrub: %s", e.message)


@shared_task(name=task_names.PRUNE_EVENTS, ignore_result=True, soft_time_limit=300, time_limit=360)
def prune_events() -> None:
    deleted = events.prune()
    if deleted:
        logger.info("inventory: deleted %d events older than %d days", deleted, settings.EVENTS_RETENTION_DAYS)


@worker_ready.connect
def sync_when_empty(**kwargs: object) -> None:
    """A worker starts and no sync has ever finished (a new install, or a first sync that failed):
    run one now, not in INVENTORY_SYNC_INTERVAL seconds.

    Not "when the inventory is empty": beside a registry that already holds images, the events
    the registry queued reach the database first and make it look filled (issue 22: 99 of 141
    repositories without tags for five minutes)."""
    if not settings.INVENTORY_SYNC_ON_START:
        return
    try:
        if not inventory_sync.synced_once():
            jobs.queue_sync(reason="first start")
    except JobBusy:
        pass
    except Exception:  # the database is not migrated yet: beat's schedule fills it later
        logger.exception("inventory: could not queue the first sync")


# --- The registry's events ----------------------------------------------------------------


@shared_task(
    name=task_names.APPLY_EVENTS,
    ignore_result=True,
    autoretry_for=(OperationalError,),  # SQLite busy past its timeout: again shortly
    retry_backoff=1,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def apply_events() -> None:
    """Apply the registry's pending events (sent by the web on receipt, by a worker's start and
    by beat every few seconds as a sweep). Clears the web's "sent" mark before reading, so an
    envelope stored after the last read sends another task.

    It first lets COALESCE seconds pass: the events that arrive meanwhile send no task of their
    own and are applied in the same batch (one event a task made a transaction, and a wait of
    the web's inserts on it, per event)."""
    time.sleep(COALESCE)
    receiving.clear_wake()
    done = events.apply_pending(drain=False)
    if done.events:
        logger.info(
            "inventory: %d events applied in %d batches, %.2f s, %d registry requests",
            done.events,
            done.batches,
            done.seconds,
            done.requests,
        )


@worker_ready.connect
def apply_events_on_start(**kwargs: object) -> None:
    """A worker starts: apply what was stored while none ran (or by one killed mid-batch)."""
    try:
        send(task_names.APPLY_EVENTS)
    except Exception:  # Redis down: beat's sweep sends it once Redis is back
        logger.warning("inventory: could not queue the events' apply task at start")


@shared_task(name=task_names.WATCH_EVENTS, ignore_result=True, soft_time_limit=60, time_limit=90)
def watch_events() -> None:
    """Every 30 s: events off after they were tracked, or the registry's posts refused, are gaps."""
    for gap in gaps.watch(receiving.take_refused_since()):
        logger.warning("inventory: events gap from %s: %s", gap.started, gap.reason)


@shared_task(
    name=task_names.MEASURE_STORAGE,
    ignore_result=True,
    soft_time_limit=files.SPACE_TIME_LIMIT,
    time_limit=files.SPACE_TIME_LIMIT + 60,
)
def measure_storage() -> None:
    """Read the space figures from the storage files again: after a sync that changed something (or
    when they are older than SPACE_MAX_AGE), a delete or a garbage collection (issue 25); nothing
    when the files are not the source."""
    found = files.source()
    if found.files is not None:
        sync_files.measure_space(found.files)
    else:
        files.mark_measuring(False)

"""Maintenance's Celery tasks: thin entry points that take primitive ids and delegate to the run side.

Registered under the names in ``maintenance.task_names``; the web side sends them by those
names and never imports this module (it loads the Docker engine client). Tasks the web
waits for take a call id first and leave their answer for it (``core.worker.answer``).
"""

import logging
from typing import Any

from celery import shared_task
from celery.signals import beat_init
from django.conf import settings

from core import memory
from core.worker import answer
from maintenance import container_actions, gc, schedules, stats, stats_collector, update, verify

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def check_engine(call_id: str | None = None) -> None:
    """Record whether the Docker engine and the registry container answer (every minute, and on demand)."""
    answer(call_id, dict(container_actions.record_engine_health()))
    memory.record_worker()  # the Registry page shows it beside the registry's (issue 28)


# --- Garbage collection ----------------------------------------------------------------


# No automatic retry and no late ack: a real GC recreates or stops the registry, so a task
# whose worker died is not run again by another worker; the watchdog restores the registry.
@shared_task(
    ignore_result=True,
    acks_late=False,
    max_retries=0,
    soft_time_limit=settings.GC_TIME_LIMIT,
    time_limit=settings.GC_TIME_LIMIT + 300,
)
def run_gc(job_id: int) -> None:
    """Run the garbage collection recorded in the job (queued by the API, the page or a schedule)."""
    gc.run(job_id)


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=120)
def scheduled_gc(**params: Any) -> None:
    """Fired by django-celery-beat: queue a GC job like a user would, as the scheduler."""
    schedules.fire(params)


@shared_task(ignore_result=True, soft_time_limit=240, time_limit=300)
def gc_watchdog() -> None:
    """Every minute: bring back a registry a dead worker left read-only or stopped."""
    gc.watchdog()


# --- Updating and verifying the registry ---------------------------------------------------


# Like a GC: no retry and no late ack (it recreates the registry); the watchdog puts the old
# container back when a worker dies midway.
@shared_task(ignore_result=True, acks_late=False, max_retries=0, soft_time_limit=900, time_limit=1200)
def update_registry(job_id: int) -> None:
    """Update the registry container to the newest image of its tag (POST /api/v1/registry/update/)."""
    update.run(job_id)


@shared_task(ignore_result=True, acks_late=False, max_retries=0, soft_time_limit=3600, time_limit=3900)
def verify_registry(job_id: int) -> None:
    """Check every tag's manifest and blobs, then GC's dry run (POST /api/v1/registry/verify/)."""
    verify.run(job_id)


# --- Statistics ---------------------------------------------------------------------------


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def collect_stats(job_id: int) -> None:
    """A statistics job started from the page or POST /api/v1/stats/collect/."""
    stats_collector.StatisticsJob.handle(job_id)


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def collect_stats_on_schedule() -> None:
    """The scheduled sample (beat entry "registry-statistics"); the sample is its own record. The
    data root is walked again only when something may have changed it (``unchanged_walk``)."""
    sample = stats_collector.collect(reuse_walk=True)
    for error in sample.errors:
        logger.warning("statistics: %s", error)


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def prune_stats() -> None:
    deleted = stats_collector.prune()
    if deleted:
        logger.info("statistics: deleted %d samples older than %d days", deleted, settings.STATS_RETENTION_DAYS)


# --- The registry container -------------------------------------------------------------


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def refresh_container(call_id: str | None = None) -> None:
    """Record a fresh container snapshot (status, version, config, logs) for the panel."""
    answer(call_id, dict(container_actions.record_snapshot()))


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def pause_registry(call_id: str | None, user_id: int | None, seconds: int, via: str) -> None:
    answer(call_id, container_actions.pause(user_id, seconds, via))


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def unpause_registry(call_id: str | None, user_id: int | None, via: str) -> None:
    answer(call_id, container_actions.resume(user_id, "button", via))


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def restart_registry(call_id: str | None, user_id: int | None, via: str) -> None:
    answer(call_id, container_actions.restart(user_id, via))


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def resume_after_pause(pause_id: int) -> None:
    """The countdown sent with a pause: resume that pause if it is still on."""
    container_actions.resume(None, "timer", "scheduler", pause_id=pause_id)


@shared_task(ignore_result=True, soft_time_limit=120, time_limit=150)
def resume_overdue_pause() -> None:
    """Beat watchdog: resume pauses past their deadline whose countdown task was lost."""
    container_actions.resume_overdue()


@beat_init.connect
def ensure_statistics_schedule(**kwargs: object) -> None:
    """Beat starts: make sure the admin-editable statistics entry exists."""
    stats.schedule()

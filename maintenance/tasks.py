from typing import Any

from celery import shared_task
from django.conf import settings

from maintenance import gc, schedules, services


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def check_engine() -> None:
    """Record whether the Docker engine and the registry container answer (every minute, and on demand)."""
    services.record_engine_health()


# === Garbage collection (issue 5) ======================================================


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


# === Statistics (issue 6) ==============================================================

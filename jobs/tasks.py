"""The job watchdog: fails jobs whose worker died (no heartbeat) or that no worker took, every kind.

Registered under the name it had in maintenance (beat's entry "job-watchdog" stores it), and
run from a thread in every worker's main process too.
"""

import logging
import threading
import time

from celery import shared_task
from celery.signals import worker_ready
from django import db
from django.conf import settings

from jobs import lock, runner, time_limits

logger = logging.getLogger(__name__)


def _abandon_jobs(task_id: str, thread_id: int) -> None:
    """A task past its hard time limit in a thread pool (``jobs.time_limits``): its jobs stop
    beating, as a killed process's would, and the job watchdog fails them."""
    for job_id in runner.heartbeat.of_task(task_id):
        runner.heartbeat.discard(job_id)


def _abandon_gc_lock(task_id: str, thread_id: int) -> None:
    """...and the GC lock it holds stops being extended: it expires, and the GC watchdog restores
    the registry."""
    lock.LockHeartbeat.abandon(thread_id)


time_limits.on_abandon(_abandon_jobs)
time_limits.on_abandon(_abandon_gc_lock)

JOB_WATCHDOG = "maintenance.tasks.job_watchdog"


@shared_task(name=JOB_WATCHDOG, ignore_result=True, soft_time_limit=60, time_limit=90)
def job_watchdog() -> None:
    """Every minute: fail jobs whose worker died (no heartbeat) or that no worker took."""
    for job in runner.fail_orphaned():
        logger.warning("job watchdog: %s #%s failed: %s", job.kind, job.pk, job.error)


@worker_ready.connect
def watch_jobs_beside_the_pool(**kwargs: object) -> None:
    """The beat task above waits for a free pool process; when every process waits on a slow
    registry (a sync, a statistics run), a dead worker's job would stay "running" that long.
    The worker's main process also runs the watchdog from a thread of its own."""

    def watch() -> None:
        while True:
            time.sleep(settings.JOB_WATCHDOG_INTERVAL)
            try:
                job_watchdog()
            except Exception:  # a locked or unreachable database: the next round tries again
                logger.exception("job watchdog: could not check the jobs")
            finally:
                db.connection.close()

    threading.Thread(target=watch, name="job-watchdog", daemon=True).start()

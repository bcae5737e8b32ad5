"""The inventory's sync as a Job (web side): queue one, at most one at a time, and how fresh it is.

The reconcile itself is ``inventory.sync``; the worker's task (``maintenance.tasks.run_sync``)
runs it for a job queued here, by the API, the pages' "Sync now", the beat schedule, or a
worker starting on an empty inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from inventory import events
from inventory.models import SyncState
from maintenance import jobs, task_names
from maintenance.models import Job

# A sync job's soft time limit; a job "running" for longer than this plus a margin was left
# by a dead worker.
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
    return jobs.enqueue(task_names.RUN_SYNC, Job.Kind.SYNC, {"reason": reason}, request=request, user=user)


@dataclass(frozen=True)
class Freshness:
    """How current the inventory is, for the pages' "synced 40 s ago" / "live" line."""

    running: Job | None
    last_failed: Job | None  # the last sync job, when it failed
    last_synced: datetime | None
    live: bool

    @property
    def synced_once(self) -> bool:
        return self.last_synced is not None

    @property
    def progress(self) -> str:
        """The running sync's last log line ("Progress: 2,000 of 15,000 tags resolved.")."""
        lines = (self.running.output or "").strip().splitlines() if self.running is not None else []
        return lines[-1] if lines else ""

    @property
    def age_seconds(self) -> int | None:
        if self.last_synced is None:
            return None
        return max(int((timezone.now() - self.last_synced).total_seconds()), 0)


def freshness() -> Freshness:
    syncs = Job.objects.filter(kind=Job.Kind.SYNC)
    running = syncs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
    last = syncs.filter(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).order_by("-finished_at").first()
    state = SyncState.objects.filter(pk=1).first()
    return Freshness(
        running=running,
        last_failed=last if last is not None and last.status == Job.Status.FAILED else None,
        last_synced=state.last_finished if state else None,
        live=events.is_live(),
    )


def sync_status() -> dict[str, Any]:
    """``GET /api/v1/sync/``: whether one runs, and the last one's times and figures."""
    state = SyncState.objects.filter(pk=1).first()
    last_job = (
        Job.objects.filter(kind=Job.Kind.SYNC, status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED])
        .order_by("-finished_at")
        .first()
    )
    result: dict[str, Any] | None = state.last_result if state else None
    started = state.last_started if state else None
    finished = state.last_finished if state else None
    if last_job is not None and last_job.status == Job.Status.FAILED:
        result = {"error": last_job.error}
        started, finished = last_job.started_at, last_job.finished_at
    running = active_sync()
    return {
        "running": running is not None,
        "last_started": started.isoformat() if started else None,
        "last_finished": finished.isoformat() if finished else None,
        "last_result": result,
        # Until a first sync finishes, the inventory is incomplete: say so, and how far it got.
        "first_sync": None if state is not None and state.last_finished is not None else first_sync(running),
    }


def first_sync(running: Job | None) -> dict[str, Any]:
    """Where the first sync is: ``{"running", "job", "progress"}`` (its last log line)."""
    lines = (running.output or "").strip().splitlines() if running is not None else []
    return {
        "running": running is not None,
        "job": running.pk if running is not None else None,
        "progress": lines[-1] if lines else None,
    }

"""The inventory's sync as a Job: queued (one at a time) by the API, the pages' "Sync now", the
beat schedule or a worker starting on an empty inventory; run by ``SyncJob`` on a worker
(the task is ``inventory.tasks.run_sync``); how fresh the inventory is.

The reconcile itself is ``inventory.sync``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from inventory import events, sync_files, task_names
from inventory import sync as inventory_sync
from inventory.models import SyncState
from jobs import runner, services
from jobs.models import Job

logger = logging.getLogger(__name__)

# A sync job's soft time limit; a job "running" for longer than this plus a margin was left
# by a dead worker.
SYNC_TIME_LIMIT = 3600


class SyncParams(TypedDict):
    """A sync job's ``params``: who asked (manual, schedule, first start)."""

    reason: str


def active_sync() -> Job | None:
    """The queued or running sync, after failing those no worker took or a dead worker left running."""
    runner.expire_unclaimed(Job.Kind.SYNC)
    cutoff = timezone.now() - timedelta(seconds=SYNC_TIME_LIMIT + 300)
    for job in Job.objects.filter(kind=Job.Kind.SYNC, status=Job.Status.RUNNING, started_at__lt=cutoff):
        runner.fail(job, "The worker running this sync stopped before it ended (time limit passed).")
    return services.active(Job.Kind.SYNC)


def queue_sync(
    *, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None, reason: str = "manual"
) -> Job:
    """Queue a reconcile; JobBusy with the active job when one is queued or running."""
    active_sync()  # a sync a dead worker left running must not block this one
    params: SyncParams = {"reason": reason}
    scheduled = reason == "schedule"  # beat's INVENTORY_SYNC_INTERVAL entry
    return services.queue(task_names.RUN_SYNC, Job.Kind.SYNC, params, request=request, user=user, scheduled=scheduled)


class SyncJob(runner.JobRunner[inventory_sync.SyncResult]):
    """A sync job on a worker: the events that arrived, the reconcile, the events that arrived meanwhile."""

    kind = Job.Kind.SYNC

    def run(self) -> inventory_sync.SyncResult:
        try:
            events.apply_pending()
            # From the storage files when they can be read, else over HTTP (issue 24).
            result = sync_files.reconcile(log=self.log)
            events.apply_pending()  # what arrived while the reconcile ran
        except Exception as e:
            logger.warning("inventory sync job %s failed", self.job.pk, exc_info=True)
            message = getattr(e, "message", None) or str(e)
            raise runner.JobFailed(f"The inventory sync failed: {message}") from e
        return result


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
    running = syncs.filter(status__in=services.ACTIVE).first()
    last = syncs.filter(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).order_by("-finished_at").first()
    state = SyncState.objects.filter(pk=1).first()
    return Freshness(
        running=running,
        last_failed=last if last is not None and last.status == Job.Status.FAILED else None,
        last_synced=state.last_finished if state else None,
        live=events.is_live(),
    )


@dataclass(frozen=True)
class SyncStatus:
    """Whether a sync runs, and the last one's times and figures (or its error)."""

    running: bool
    last_started: datetime | None
    last_finished: datetime | None
    last_result: dict[str, Any] | None
    first_sync: dict[str, Any] | None = None  # {"running", "job", "progress"} until a first sync finishes


def sync_status() -> SyncStatus:
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
    return SyncStatus(
        running=running is not None,
        last_started=started,
        last_finished=finished,
        last_result=result,
        # Until a first sync finishes, the inventory is incomplete: say so, and how far it got.
        first_sync=None if state is not None and state.last_finished is not None else first_sync(running),
    )


def first_sync(running: Job | None) -> dict[str, Any]:
    """Where the first sync is: ``{"running", "job", "progress"}`` (its last log line)."""
    lines = (running.output or "").strip().splitlines() if running is not None else []
    return {
        "running": running is not None,
        "job": running.pk if running is not None else None,
        "progress": lines[-1] if lines else None,
    }

"""The life of a Job: queued by a view or the scheduler, run by a worker, ended with a result.

Every start and end lands in the audit log. Tasks take the job's id and call ``start``
(or ``claim``), ``log``, then ``succeed`` or ``fail``; ``perform`` does the last two for a
piece of work that can fail in ways a user can act on.

While a job runs, its worker renews ``heartbeat_at`` every third of JOB_HEARTBEAT_TIMEOUT
from one thread per process. A worker that is killed (SIGKILL, out of memory, the NAS
restarted) stops beating; ``fail_orphaned`` (the job watchdog, run by beat) then marks its
jobs failed with that reason, so no job stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any, Protocol

from celery import current_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.http import HttpRequest
from django.utils import timezone

from core import audit, notable, worker
from maintenance.models import Job

logger = logging.getLogger(__name__)


def enqueue(
    task_name: str,
    kind: str,
    params: dict[str, Any],
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Job:
    """Create the job and send the task ``task_name`` (``maintenance.task_names``) with its id once
    the row is committed (the worker must see it).

    The job and its audit entry are written together or not at all (a full or locked
    database). When Redis does not take the task, the job is recorded as failed with the
    reason and ``QueueUnavailable`` (503, naming REDIS_URL) is raised: never a job left
    "queued" that no worker will ever see.
    """
    if user is None and request is not None:
        user = request.user
    owner = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=params, user=owner)  # type: ignore[misc]
        audit.record(
            action=f"{kind}-queued", outcome="started", request=request, user=user, detail=f"job {job.pk} {params}"
        )

    def send() -> None:
        try:
            worker.send(task_name, job.pk)
        except worker.QueueUnavailable as e:
            fail(job, e.message)
            raise

    transaction.on_commit(send)
    return job


def claim(job_id: int) -> Job | None:
    """Mark a queued job running, atomically; None when it is not queued any more (expired, or
    already taken), so that a late or repeated task never runs it twice."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    heartbeat.add(job_id)
    return Job.objects.get(pk=job_id)


def expire_unclaimed(kind: str, older_than_seconds: int) -> list[Job]:
    """Fail the jobs of ``kind`` that no worker took within the time given (no worker was running)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    expired = []
    for job in Job.objects.filter(kind=kind, status=Job.Status.QUEUED, created_at__lt=cutoff):
        error = (
            f"No worker took this job within {older_than_seconds // 60} minutes, so it was cancelled: "
            "start a Celery worker (make run starts one), then run it again."
        )
        if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED, error=error, finished_at=timezone.now()
        ):
            job.refresh_from_db()
            audit.record(
                action=f"{kind}-finished", outcome="failed", user=job.user, via="web", detail=f"job {job.pk}: {error}"
            )
            announce_end(job)
            expired.append(job)
    return expired


def start(job_id: int) -> Job:
    job = Job.objects.get(pk=job_id)
    job.status = Job.Status.RUNNING
    job.started_at = job.heartbeat_at = timezone.now()
    job.save(update_fields=["status", "started_at", "heartbeat_at"])
    heartbeat.add(job_id)
    return job


def log(job: Job, line: str) -> None:
    job.append_output(line if line.endswith("\n") else line + "\n")


def succeed(job: Job, result: dict[str, Any]) -> None:
    _finish(job, Job.Status.SUCCEEDED, result=result)


def fail(job: Job, error: str, result: dict[str, Any] | None = None) -> None:
    _finish(job, Job.Status.FAILED, result=result, error=error)


class Work(Protocol):
    """What a worker does for one job: ``run`` returns the result; ``result`` is what it has so far."""

    result: dict[str, Any]

    def run(self) -> dict[str, Any]: ...


def perform(job: Job, work: Work, expected: tuple[type[Exception], ...], timed_out: str | None = None) -> None:
    """Run ``work`` for ``job`` and end the job with its result; never raises.

    An ``expected`` error carries the user's ``message`` and fails the job with it; hitting the
    task's soft time limit fails it with ``timed_out`` (when given); anything else fails it
    naming the error, logged with its traceback. What the work had found is kept either way.
    """
    try:
        result = work.run()
    except expected as e:
        message = getattr(e, "message", str(e))
        log(job, f"ERROR: {message}")
        fail(job, message, work.result or None)
    except SoftTimeLimitExceeded as e:
        if timed_out is None:
            _unexpected(job, work, e)
        else:
            log(job, f"ERROR: {timed_out}")
            fail(job, timed_out, work.result or None)
    except Exception as e:
        _unexpected(job, work, e)
    else:
        succeed(job, result)


def _unexpected(job: Job, work: Work, error: Exception) -> None:
    logger.exception("%s job %s failed", job.get_kind_display(), job.pk)
    log(job, f"ERROR: {type(error).__name__}: {error}")
    fail(job, f"Unexpected error: {type(error).__name__}: {error}", work.result or None)


def _finish(job: Job, status: str, result: dict[str, Any] | None = None, error: str = "") -> None:
    heartbeat.discard(job.pk)
    Job.objects.filter(pk=job.pk).update(status=status, result=result, error=error, finished_at=timezone.now())
    job.refresh_from_db()
    audit.record(
        action=f"{job.kind}-finished",
        outcome="succeeded" if status == Job.Status.SUCCEEDED else "failed",
        user=job.user,
        via="worker",
        detail=f"job {job.pk}: {error or result}",
    )
    announce_end(job)


def announce_end(job: Job) -> None:
    """Tell whoever listens (notifications) that ``job`` ended: after the commit, never failing the job."""
    notable.announce(
        notable.JOB_FINISHED,
        job=job.pk,
        job_kind=job.kind,
        job_kind_label=job.get_kind_display(),
        status=job.status,
        error=job.error,
        result=job.result if isinstance(job.result, dict) else None,
        path=job.get_absolute_url(),
    )


# --- Heartbeat and watchdog ---------------------------------------------------------------


class _Heartbeat:
    """Renews ``heartbeat_at`` of the jobs this process runs, from one daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, str | None] = {}  # job id -> the Celery task running it
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, job_id: int) -> None:
        task_id = getattr(current_task, "request", None) and current_task.request.id
        with self._lock:
            self._jobs[job_id] = task_id
            # A forked pool child inherits the set but not the thread: start one per process.
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, job_id: int) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def of_task(self, task_id: str) -> list[int]:
        with self._lock:
            return [job_id for job_id, task in self._jobs.items() if task == task_id]

    def _beat(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(1.0)
            if time.monotonic() - last < max(1.0, settings.JOB_HEARTBEAT_TIMEOUT / 3):
                continue
            last = time.monotonic()
            with self._lock:
                ids = list(self._jobs)
            if not ids:
                continue
            try:
                Job.objects.filter(pk__in=ids, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
            except Exception as e:  # a locked database: the next beat tries again
                logger.warning("could not renew the heartbeat of jobs %s: %s", ids, e)
            finally:
                connection.close()


heartbeat = _Heartbeat()


@task_postrun.connect
def _task_ended(task_id: str | None = None, **kwargs: object) -> None:
    """A task that returned or raised without ending its job: fail the job now, not after a timeout."""
    if not task_id:
        return
    for job_id in heartbeat.of_task(task_id):
        heartbeat.discard(job_id)
        job = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).first()
        if job is not None:
            fail(job, "The task ended without recording a result (see the worker's log).")


def fail_orphaned() -> list[Job]:
    """The job watchdog: fail running jobs whose worker stopped beating, and queued jobs no
    worker took within GC_QUEUE_TIMEOUT. Returns the jobs it failed."""
    if not connection.in_atomic_block:
        # Drop a broken or expired connection (a worker's long sleep). Never inside a transaction:
        # closing would abort the caller's work (on PostgreSQL the connection really closes).
        close_old_connections()
    timeout = settings.JOB_HEARTBEAT_TIMEOUT
    cutoff = timezone.now() - timedelta(seconds=timeout)
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    failed = []
    for job in Job.objects.filter(stale, status=Job.Status.RUNNING):
        error = (
            f"The worker running this job stopped: no heartbeat for more than {timeout} s "
            "(JOB_HEARTBEAT_TIMEOUT). It was killed, ran out of memory or its host restarted; its locks "
            "expire by themselves. Check the worker's log, then run the job again."
        )
        updated = Job.objects.filter(stale, pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.FAILED,
            error=error,
            finished_at=timezone.now(),
            output=Concat(F("output"), Value(f"ERROR: {error}\n")),
        )
        if updated:
            job.refresh_from_db()
            audit.record(
                action=f"{job.kind}-finished",
                outcome="failed",
                user=job.user,
                via="watchdog",
                detail=f"job {job.pk}: {error}",
            )
            announce_end(job)
            failed.append(job)
    for kind in Job.Kind.values:
        failed += expire_unclaimed(kind, settings.GC_QUEUE_TIMEOUT)
    return failed

"""The life of a Job on a worker: claimed, run, ended with a result; one lifecycle for every kind.

A kind's task calls ``SomeRunner.handle(job_id)``: ``claim`` takes the job (a conditional
UPDATE, so a late or repeated task never runs it twice), ``JobRunner.run`` does the work and
``log``s as it goes, and the job ends ``succeed``ed or ``fail``ed: with the message of an
error a user can act on, on the task's soft time limit, or naming an unexpected error. Every
end lands in the audit log (``jobs.services.enqueue`` audits the queueing), as netbox's
``JobRunner`` (netbox/netbox/jobs.py) does it.

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
from typing import Any, ClassVar, Generic, TypeVar

from celery import current_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from core import audit, notable
from jobs.models import Job

logger = logging.getLogger(__name__)


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


def expire_unclaimed(kind: str) -> list[Job]:
    """Fail the jobs of ``kind`` that no worker took within GC_QUEUE_TIMEOUT (no worker was running)."""
    older_than_seconds = settings.GC_QUEUE_TIMEOUT
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


def log(job: Job, line: str) -> None:
    job.append_output(line if line.endswith("\n") else line + "\n")


def succeed(job: Job, result: Any) -> None:
    _finish(job, Job.Status.SUCCEEDED, result=result)


def fail(job: Job, error: str, result: Any = None) -> None:
    _finish(job, Job.Status.FAILED, result=result, error=error)


def warn(job: Job, problems: str, result: Any = None) -> None:
    """End ``job`` as ``warning`` ("problems found"): it ran, but ``problems`` (in words) stood in
    its way or it did only part of its work. ``error`` holds the sentence."""
    _finish(job, Job.Status.WARNING, result=result, error=problems)


ResultT = TypeVar("ResultT")


class JobFailed(Exception):
    """Raised by ``JobRunner.run`` to end the job as failed with ``message`` (what a user can act
    on) and ``result`` (what it had found, or the runner's ``result`` so far)."""

    def __init__(self, message: str, result: Any = None, *, logged: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
        self.logged = logged


class JobRunner(Generic[ResultT]):
    """One kind of job, run on a worker: subclass it, set ``kind``, write ``run``.

    ``handle(job_id)`` (the task's body) claims the job, runs it and ends it; it never raises.
    ``run`` returns the result, or raises ``JobFailed``, one of ``expected`` (errors carrying a
    ``message`` a user can act on; written to the output with ``ERROR:``), or hits the task's
    soft time limit (``timed_out``, when the kind says what that means). Anything else fails
    the job naming the error, logged with its traceback. What ``result`` holds so far is kept
    on a failure. ``problems`` reads the result of a run that returned: a sentence there ends
    the job ``warning`` ("problems found", e.g. a verification that found something missing)
    instead of ``succeeded``. ``after`` runs once the job succeeded or ended with problems (a
    retention run queues its GC).

    Everything the run writes to the audit log without a request is credited to who asked for
    the job (``Job.actor``), "via <kind> run #N" (``core.audit.acting_as``).
    """

    kind: ClassVar[str]
    expected: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, job: Job) -> None:
        self.job = job
        self.result: Any = {}

    @classmethod
    def handle(cls, job_id: int) -> None:
        job = claim(job_id)
        if job is None:
            logger.warning("%s job %s is not queued any more (expired or taken); not running it", cls.kind, job_id)
            return
        cls(job).execute()

    def run(self) -> ResultT:
        raise NotImplementedError

    def timed_out(self) -> str | None:
        """The failure message when the task's soft time limit is hit; None: an unexpected error."""
        return None

    def problems(self, result: ResultT) -> str | None:
        """Why a run that returned did not do all it was for (the job ends ``warning``), or None."""
        return None

    def after(self, result: ResultT) -> None:
        """Work after the job succeeded or ended with problems (its status is final by then)."""

    def log(self, line: str) -> None:
        log(self.job, line)

    def execute(self) -> None:
        with acting_for(self.job):
            self._execute()

    def _execute(self) -> None:
        try:
            result = self.run()
        except JobFailed as e:
            if e.logged:
                self.log(f"ERROR: {e.message}")
            fail(self.job, e.message, e.result if e.result is not None else (self.result or None))
        except self.expected as e:
            message = getattr(e, "message", str(e))
            self.log(f"ERROR: {message}")
            fail(self.job, message, self.result or None)
        except SoftTimeLimitExceeded as e:
            timed_out = self.timed_out()
            if timed_out is None:
                self._unexpected(e)
            else:
                self.log(f"ERROR: {timed_out}")
                fail(self.job, timed_out, self.result or None)
        except Exception as e:
            self._unexpected(e)
        else:
            problems = self.problems(result)
            if problems:
                self.log(f"PROBLEMS FOUND: {problems}")
                warn(self.job, problems, result)
            else:
                succeed(self.job, result)
            self.after(result)

    def _unexpected(self, error: Exception) -> None:
        logger.exception("%s job %s failed", self.job.get_kind_display(), self.job.pk)
        self.log(f"ERROR: {type(error).__name__}: {error}")
        fail(self.job, f"Unexpected error: {type(error).__name__}: {error}", self.result or None)


def acting_for(job: Job) -> Any:
    """The audit context of ``job``'s work: its asker, "via <kind> run #N"."""
    return audit.acting_as(
        job.user, job.actor, job.audit_via, requested_via=job.requested_via, token_name=job.token_name
    )


_AUDIT_OUTCOME: dict[str, str] = {Job.Status.SUCCEEDED: "succeeded", Job.Status.WARNING: "warning"}


def _finish(job: Job, status: str, result: Any = None, error: str = "") -> None:
    heartbeat.discard(job.pk)
    # Only a job still queued or running ends here: one the watchdog already failed (its worker
    # passed the hard time limit, or looked dead) keeps that outcome even if the run returns later.
    ended = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
        status=status, result=result, error=error, finished_at=timezone.now()
    )
    job.refresh_from_db()
    if not ended:
        logger.warning(
            "Job %s returned %s after it had ended %s; its record stays %s", job.pk, status, job.status, job.status
        )
        log(job, f"The run returned ({status}) after this job had already ended {job.status}: it stays {job.status}.")
        return
    with acting_for(job):
        audit.record(
            action=f"{job.kind}-finished",
            outcome=_AUDIT_OUTCOME.get(status, "failed"),
            detail=f"job {job.pk}: {error or result}",
            fields={"job": job.pk},
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
        status_label=job.get_status_display(),
        asked_by=job.asked_by,
        error=job.error,
        result=job.result if isinstance(job.result, dict) else None,
        path=job.get_absolute_url(),
    )


# --- Heartbeat and watchdog ---------------------------------------------------------------


class _Heartbeat:
    """Renews ``heartbeat_at`` of the jobs this process runs, from one daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Woken when a job starts: with none running the thread sleeps without a timeout (an idle
        # worker wakes for nothing; issue 28's idle CPU).
        self._started = threading.Condition(self._lock)
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
            self._started.notify()

    def discard(self, job_id: int) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def of_task(self, task_id: str) -> list[int]:
        with self._lock:
            return [job_id for job_id, task in self._jobs.items() if task == task_id]

    def _due_jobs(self) -> list[int]:
        """Sleep until a renewal is due, then the jobs to renew. Idle, it sleeps until a job starts;
        a job that starts wakes it, and the interval is read again (a test shortens it)."""
        last = time.monotonic()
        with self._lock:
            while True:
                if not self._jobs:
                    self._started.wait()
                    last = time.monotonic()  # a job claimed now has just been given heartbeat_at
                    continue
                wait = last + max(1.0, settings.JOB_HEARTBEAT_TIMEOUT / 3) - time.monotonic()
                if wait <= 0:
                    return list(self._jobs)
                self._started.wait(wait)

    def _beat(self) -> None:
        while True:
            ids = self._due_jobs()
            try:
                Job.objects.filter(pk__in=ids, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
            except Exception as e:  # a locked database: the next beat tries again
                logger.warning("could not renew the heartbeat of jobs %s: %s", ids, e)
            finally:
                connection.close()


heartbeat = _Heartbeat()


def _reset_heartbeat_in_child() -> None:
    """A forked child (a prefork pool process, a job's child: ``jobs.child``) beats for its own
    jobs only, from a thread of its own; the parent's lock may have been held by a thread that
    does not exist here."""
    global heartbeat
    heartbeat = _Heartbeat()


os.register_at_fork(after_in_child=_reset_heartbeat_in_child)


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
        failed += expire_unclaimed(kind)
    return failed

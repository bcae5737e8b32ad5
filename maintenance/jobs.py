"""The life of a Job: queued by a view or the scheduler, run by a worker, ended with a result.

Every start and end lands in the audit log. Tasks take the job's id and call ``start``,
``log``, then ``succeed`` or ``fail``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from core import audit, worker
from maintenance.models import Job


def enqueue(
    task_name: str,
    kind: str,
    params: dict[str, Any],
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Job:
    """Create the job and send the task ``task_name`` (``maintenance.task_names``) with its id once
    the row is committed (the worker must see it)."""
    if user is None and request is not None:
        user = request.user
    owner = user if user is not None and user.is_authenticated else None
    job = Job.objects.create(kind=kind, params=params, user=owner)  # type: ignore[misc]
    audit.record(
        action=f"{kind}-queued", outcome="started", request=request, user=user, detail=f"job {job.pk} {params}"
    )
    transaction.on_commit(lambda: worker.send(task_name, job.pk))
    return job


def claim(job_id: int) -> Job | None:
    """Mark a queued job running, atomically; None when it is not queued any more (expired, or
    already taken), so that a late or repeated task never runs it twice."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    return Job.objects.get(pk=job_id) if claimed else None


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
            expired.append(job)
    return expired


def start(job_id: int) -> Job:
    job = Job.objects.get(pk=job_id)
    job.status = Job.Status.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    return job


def log(job: Job, line: str) -> None:
    job.append_output(line if line.endswith("\n") else line + "\n")


def succeed(job: Job, result: dict[str, Any]) -> None:
    _finish(job, Job.Status.SUCCEEDED, result=result)


def fail(job: Job, error: str, result: dict[str, Any] | None = None) -> None:
    _finish(job, Job.Status.FAILED, result=result, error=error)


def _finish(job: Job, status: str, result: dict[str, Any] | None = None, error: str = "") -> None:
    Job.objects.filter(pk=job.pk).update(status=status, result=result, error=error, finished_at=timezone.now())
    job.refresh_from_db()
    audit.record(
        action=f"{job.kind}-finished",
        outcome="succeeded" if status == Job.Status.SUCCEEDED else "failed",
        user=job.user,
        via="worker",
        detail=f"job {job.pk}: {error or result}",
    )

"""Asking for a registry update or a verification: what must not run meanwhile, the queued job.

The Registry page and ``POST /api/v1/registry/update/`` / ``verify/`` queue them here; a
worker runs them (``maintenance.update``, ``maintenance.verify``), checking the same
conflicts again before it changes anything. Nothing here touches the Docker engine.
"""

from __future__ import annotations

from typing import Any

import redis
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from core.errors import ActionableError
from maintenance import gc_requests, jobs, lock, snapshot, task_names
from maintenance.models import Job

#: The kind a retention run's job will have: it deletes tags, so neither an update nor a
#: verification may run beside it.
RETENTION_KIND = Job.Kind.RETENTION
ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)


class RegistryJobError(ActionableError):
    """An update or verification that cannot be queued; the message says why and what to do."""


class RegistryBusy(RegistryJobError):
    """Something that must not overlap is in progress (409); ``job`` is it, when it is a job."""

    def __init__(self, message: str, job: Job | None = None) -> None:
        super().__init__(message)
        self.job = job


class RegistryJobUnavailable(RegistryJobError):
    """Redis does not answer: nothing can be queued (503)."""


def busy(*, ignore: Job | None = None, gc_lock_free: bool = False) -> RegistryBusy | None:
    """What is in progress that an update or a verification must wait for, or None.

    A GC (queued, running, or its lock held), a retention run, a snapshot pause, another
    update or verification. ``ignore`` is the caller's own job; ``gc_lock_free`` skips the
    lock check (a worker that holds the lock itself).
    """
    gc_job = gc_requests.active_job()
    if gc_job is not None:
        return RegistryBusy(
            f"A garbage collection is in progress (job {gc_job.pk}, {gc_job.status}): wait until it ends "
            "(see /maintenance/), then try again.",
            gc_job,
        )
    if not gc_lock_free and lock.gc_lock_held():
        return RegistryBusy("A garbage collection or registry update holds the maintenance lock: try again shortly.")
    retention = Job.objects.filter(kind=RETENTION_KIND, status__in=ACTIVE).first()
    if retention is not None:
        return RegistryBusy(
            f"A retention run is in progress (job {retention.pk}): wait until it ends, then try again.", retention
        )
    pause = snapshot.active_pause()
    if pause is not None:
        return RegistryBusy(
            f"The registry is paused for a snapshot until {pause.deadline:%H:%M:%S}: resume it on the Registry "
            "page (or wait for the automatic resume), then try again."
        )
    others = Job.objects.filter(kind__in=(Job.Kind.UPDATE, Job.Kind.VERIFY, Job.Kind.REGISTRY_LOGIN), status__in=ACTIVE)
    if ignore is not None:
        others = others.exclude(pk=ignore.pk)
    other = others.first()
    if other is not None:
        return RegistryBusy(
            f"A {other.get_kind_display().lower()} is in progress (job {other.pk}, {other.status}): wait until it "
            "ends, then try again.",
            other,
        )
    return None


def request_update(*, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None) -> Job:
    """Queue an update of the registry container to the newest image of its tag."""
    return _request(task_names.UPDATE_REGISTRY, Job.Kind.UPDATE, request, user)


def request_verify(*, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None) -> Job:
    """Queue a verification: every tag's manifest and blobs answer, and GC's dry run finds nothing broken."""
    return _request(task_names.VERIFY_REGISTRY, Job.Kind.VERIFY, request, user)


def _request(
    task_name: str, kind: str, request: HttpRequest | None, user: AbstractBaseUser | AnonymousUser | None
) -> Job:
    client = lock.redis_client()
    try:
        # Check-then-create under the short lock GC requests take too: a GC and an update
        # asked for at the same moment cannot both pass.
        with lock.enqueue_lock(client):
            jobs.expire_unclaimed(kind, 600)
            conflict = busy()
            if conflict is not None:
                raise conflict
            return jobs.enqueue(task_name, kind, {}, request=request, user=user)
    except redis.exceptions.LockError as e:
        raise RegistryJobError("Another maintenance request is being queued right now; try again.") from e
    except redis.exceptions.ConnectionError as e:
        raise RegistryJobUnavailable(f"Redis (REDIS_URL) does not answer, so no job can be queued: {e}") from e
    finally:
        client.close()


def latest(kind: str) -> Job | None:
    """The newest job of ``kind`` (update or verify), for the Registry page."""
    return Job.objects.filter(kind=kind).select_related("user").first()


# --- What a finished job says -----------------------------------------------------------------


def outcome(job: Job) -> str:
    """The job page's sentence for an update or a verification."""
    result = job.result or {}
    if job.kind == Job.Kind.VERIFY and result.get("gc_dry_run") is not None:
        return verify_sentence(result)
    if job.kind == Job.Kind.UPDATE and job.status == Job.Status.SUCCEEDED:
        if result.get("status") == "up-to-date":
            return f"Already up to date: {result.get('image', 'the image')} is the image the registry runs."
        old, new = result.get("old") or {}, result.get("new") or {}
        return (
            f"Updated {result.get('image', 'the registry')}: {old.get('version', '?')} "
            f"({old.get('image_id', '')[:19]}) -> {new.get('version', '?')} ({new.get('image_id', '')[:19]})."
        )
    if job.status == Job.Status.FAILED:
        return job.error or "Failed."
    return str(job.get_status_display())


def verify_sentence(result: dict[str, Any]) -> str:
    """One sentence for a verification's report (its log and the job page)."""
    checked = (
        f"{result.get('tags_checked', 0)} tags, {result.get('manifests_checked', 0)} manifests and "
        f"{result.get('blobs_checked', 0)} blobs checked"
    )
    dry = result.get("gc_dry_run") or {}
    problems = []
    if result.get("missing_count"):
        problems.append(f"{result['missing_count']} missing")
    if dry and not dry.get("ok"):
        problems.append(f"garbage-collect --dry-run failed (exit {dry.get('exit_code')})")
    if problems:
        return f"Verification found problems: {', '.join(problems)} ({checked})."
    return f"Verified: nothing is missing ({checked}); garbage-collect --dry-run finds nothing broken."

"""Asking for a garbage collection: its parameters, one at a time, the queued job, what a dry run found.

The page, the API and the schedules (``maintenance.schedules.fire``) queue a GC here; a
worker runs it (``maintenance.gc``). Nothing here touches the Docker engine.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from maintenance import jobs, lock, snapshot, task_names
from maintenance.models import Job

MODES = ("read-only", "stop", "online")
DELETE_UNTAGGED_ON_V2 = (
    "--delete-untagged is refused on Distribution 2.x: it deletes the platform manifests of "
    "multi-arch images (distribution#3178, #3004), fixed in v3.0.0. Upgrade the registry to "
    "registry:3 to use it."
)


class GcError(Exception):
    """A GC request or run that cannot go on; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GcUnavailable(GcError):
    """The broker is down: nothing can be queued."""


class GcConflict(GcError):
    """Another GC is queued or running."""

    def __init__(self, job: Job | None) -> None:
        self.job = job
        name = f"job {job.pk} ({job.status})" if job else "a garbage collection whose lock is still held"
        super().__init__(f"A garbage collection is already queued or running: {name}. Wait for it to finish.")


class GcParamsInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class GcParams:
    dry_run: bool = False
    delete_untagged: bool = False
    mode: str = "read-only"

    @classmethod
    def parse(cls, data: Any) -> GcParams:
        """Validated parameters from a request body or schedule; GcParamsInvalid({field: message})."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise GcParamsInvalid({"non_field_errors": "Expected a JSON object."})
        errors: dict[str, str] = {}
        unknown = sorted(set(data) - {"dry_run", "delete_untagged", "mode"})
        for name in unknown:
            errors[name] = "Unknown field: the parameters are dry_run, delete_untagged and mode."
        values: dict[str, Any] = {}
        for name in ("dry_run", "delete_untagged"):
            value = data.get(name, False)
            if not isinstance(value, bool):
                errors[name] = "Must be true or false."
            values[name] = value
        mode = data.get("mode", "read-only")
        if mode not in MODES:
            errors["mode"] = f"Must be one of {', '.join(MODES)}."
        values["mode"] = mode
        if errors:
            raise GcParamsInvalid(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def command(self, config: str) -> list[str]:
        # Never --quiet: 2.x does not know it and then prints usage and exits 0 (REGISTRY-FACTS.md).
        flags = (["--dry-run"] if self.dry_run else []) + (["--delete-untagged"] if self.delete_untagged else [])
        return ["registry", "garbage-collect", *flags, config]


def active_job() -> Job | None:
    return Job.objects.filter(kind=Job.Kind.GC, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()


def request_gc(
    params: GcParams,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Job:
    """Queue a GC job, or GcConflict naming the one that is queued or running."""
    # Refused up front on 2.x; when no worker can say which version runs, the worker refuses
    # the job before it changes anything.
    if params.delete_untagged and snapshot.registry_is_v2(ask_wait=5.0):
        raise GcError(DELETE_UNTAGGED_ON_V2)
    client = lock.redis_client()
    try:
        # Check-then-create under a short lock, so two simultaneous requests cannot both pass.
        with lock.enqueue_lock(client):
            # A job no worker took (none was running) must not block every later request.
            jobs.expire_unclaimed(Job.Kind.GC, settings.GC_QUEUE_TIMEOUT)
            running = active_job()
            if running is not None or lock.gc_lock_held(client):
                raise GcConflict(running)
            return jobs.enqueue(task_names.RUN_GC, Job.Kind.GC, params.as_dict(), request=request, user=user)
    except redis.exceptions.LockError as e:
        raise GcError("Another garbage collection request is being queued right now; try again.") from e
    except redis.exceptions.ConnectionError as e:
        raise GcUnavailable(f"Redis (REDIS_URL) does not answer, so no job can be queued: {e}") from e
    finally:
        client.close()


def preview() -> Job | None:
    """The newest successful dry run, if no real run came after it: what a real run would free."""
    last_dry = (
        Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=True)
        .order_by("-finished_at")
        .first()
    )
    if last_dry is None:
        return None
    later_real = Job.objects.filter(
        kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=False, finished_at__gt=last_dry.finished_at
    ).exists()
    return None if later_real else last_dry


def eligible_blobs(job: Job) -> list[str]:
    return re.findall(r"blob eligible for deletion: (\S+)", job.output)

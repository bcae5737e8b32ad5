"""Asking for a retention run: what must not run meanwhile, the fingerprint check, the queued job.

The page, the API and the schedules queue runs here; a worker runs them (``retention.run``),
checking the fingerprint again before it deletes anything. Nothing here deletes.
"""

from __future__ import annotations

import redis
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from maintenance import jobs, lock, registry_jobs
from maintenance.models import Job
from retention import plan, task_names
from retention.models import RetentionPolicy

STALE = (
    "The registry changed since this preview (fingerprint {given}, now {current}): nothing was deleted. "
    "Preview the policy again and run what it shows."
)


class RunRefused(Exception):
    """A run that cannot be queued; ``status`` is the HTTP status (409, 503) and ``job`` the one in the way."""

    def __init__(self, message: str, status: int = 409, job: Job | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.job = job


class StalePreview(RunRefused):
    """The fingerprint given is not the plan's any more: the registry (or the policy) changed."""


def active_run(policy: RetentionPolicy | None = None) -> Job | None:
    runs = Job.objects.filter(kind=Job.Kind.RETENTION, status__in=registry_jobs.ACTIVE)
    if policy is not None:
        runs = runs.filter(params__policy=policy.pk)
    return runs.first()


def request_run(
    policy: RetentionPolicy,
    fingerprint: str | None = None,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Job:
    """Queue a run of ``policy``; with ``fingerprint``, only if the plan is still the previewed one.

    Refused (RunRefused, 409) while a garbage collection, a registry update or verification, a
    snapshot pause or another retention run is queued or running; StalePreview (409) when the
    fingerprint no longer matches; 503 when Redis or the registry cannot be reached.
    """
    try:
        current = plan.build(policy, with_bytes=False)
    except plan.PlanUnavailable as e:
        raise RunRefused(e.message, status=e.status) from e
    if fingerprint and fingerprint != current.fingerprint:
        raise StalePreview(STALE.format(given=fingerprint, current=current.fingerprint))
    client = lock.redis_client()
    try:
        # Check-then-create under the short lock GC requests take too: a GC and a run asked for
        # at the same moment cannot both pass. The worker checks the fingerprint again.
        with lock.enqueue_lock(client):
            jobs.expire_unclaimed(Job.Kind.RETENTION, 600)
            conflict = registry_jobs.busy()
            if conflict is not None:
                raise RunRefused(conflict.message, job=conflict.job)
            params = {"policy": policy.pk, "policy_name": policy.name, "fingerprint": current.fingerprint}
            return jobs.enqueue(task_names.RUN_RETENTION, Job.Kind.RETENTION, params, request=request, user=user)
    except redis.exceptions.LockError as e:
        raise RunRefused("Another maintenance request is being queued right now; try again.") from e
    except redis.exceptions.ConnectionError as e:
        raise RunRefused(f"Redis (REDIS_URL) does not answer, so no job can be queued: {e}", status=503) from e
    finally:
        client.close()

"""Asking for a retention run: what must not run meanwhile, the fingerprint check, the queued job.

The page, the API and the schedules queue runs here; a worker runs them (``retention.run``),
checking the fingerprint again before it deletes anything. Nothing here deletes.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from jobs import services
from jobs.models import Job
from jobs.services import JobRequestError
from retention import plan, task_names
from retention.models import RetentionPolicy

STALE = (
    "The registry changed since this preview (fingerprint {given}, now {current}): nothing was deleted. "
    "Preview the policy again and run what it shows."
)


class RetentionParams(TypedDict):
    """A retention job's ``params``: the policy (its name as it was) and the previewed plan's fingerprint."""

    policy: int
    policy_name: str
    fingerprint: str


class RetentionResult(TypedDict):
    """A retention job's ``result``: what was deleted, refused, failed or not attempted, and the GC after it."""

    policy: int
    policy_name: str
    fingerprint: str
    registry_deletes_tags: bool
    bytes_expected: int | None
    deleted_tags: list[dict[str, str]]
    deleted_manifests: list[dict[str, str]]
    refused: list[dict[str, str]]
    failed: list[dict[str, str]]
    not_attempted: list[str]
    gc_job: int | None
    tags: NotRequired[int]
    manifests: NotRequired[int]
    summary: NotRequired[str]
    gc_refused: NotRequired[str]
    tags_planned: NotRequired[int]  # the tags the plan deletes
    stopped: NotRequired[str]  # why the run stopped after deleting part of its plan


#: The lists of ``RetentionResult`` that name what happened to a tag or a manifest.
Outcome = Literal["deleted_tags", "deleted_manifests", "refused", "failed"]


class RunRefused(JobRequestError):
    """A run that cannot be queued for a reason of its own (its plan); ``status`` is the HTTP status (409, 503).

    What excludes a run (a GC, an update or verification, a pause, another run) is ``jobs.services.JobBusy``.
    """

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class StalePreview(RunRefused):
    """The fingerprint given is not the plan's any more: the registry (or the policy) changed."""


def active_run(policy: RetentionPolicy | None = None) -> Job | None:
    runs = Job.objects.filter(kind=Job.Kind.RETENTION, status__in=services.ACTIVE)
    if policy is not None:
        runs = runs.filter(params__policy=policy.pk)
    return runs.first()


def request_run(
    policy: RetentionPolicy,
    fingerprint: str | None = None,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    scheduled: bool = False,
) -> Job:
    """Queue a run of ``policy`` (``scheduled``: its schedule fired); with ``fingerprint``, only if
    the plan is still the previewed one.

    JobBusy (409) while a garbage collection, a registry update or verification, a snapshot pause
    or another retention run is queued or running; StalePreview (409) when the fingerprint no
    longer matches; RunRefused or JobsUnavailable (503) when the registry or Redis cannot be reached.
    """
    try:
        current = plan.build(policy, with_bytes=False)
    except plan.PlanUnavailable as e:
        raise RunRefused(e.message, status=e.status) from e
    if fingerprint and fingerprint != current.fingerprint:
        raise StalePreview(STALE.format(given=fingerprint, current=current.fingerprint))
    # The worker checks the fingerprint again.
    params: RetentionParams = {"policy": policy.pk, "policy_name": policy.name, "fingerprint": current.fingerprint}
    return services.queue(
        task_names.RUN_RETENTION, Job.Kind.RETENTION, params, request=request, user=user, scheduled=scheduled
    )

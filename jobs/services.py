"""Asking for a job (web side): which kinds exclude which, the one way to queue a job, ``JobBusy``.

Every kind is queued through ``queue``: under a short Redis lock (two requests at the same
moment cannot both pass the check), jobs no worker took are expired, ``busy`` looks for what
must not run beside the kind (``EXCLUDES``), the job is created and its task sent once the row
is committed. Redis down is ``JobsUnavailable`` (503, naming REDIS_URL); something in the way
is ``JobBusy`` (409 with that job). A kind nothing excludes (statistics) needs no lock: it is
created and sent at once. A worker checks ``busy`` again before it changes anything
(``ignore`` its own job). Nothing here runs a job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import redis
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest

from core import audit, reachability, worker
from core.errors import ActionableError, ServiceUnavailable
from jobs import lock, runner
from jobs.models import Job

Kind = Job.Kind
ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)

#: The maintenance lock (``jobs.lock``) held: a GC, an update or the GC watchdog has the registry.
MAINTENANCE_LOCK = "maintenance-lock"
#: The registry paused for a snapshot (maintenance registers the check: ``register_condition``).
SNAPSHOT_PAUSE = "snapshot-pause"

_REGISTRY_JOB = (
    (Kind.GC,),
    MAINTENANCE_LOCK,
    (Kind.RETENTION,),
    SNAPSHOT_PAUSE,
    (Kind.UPDATE, Kind.VERIFY, Kind.REGISTRY_LOGIN),
)

#: Which kinds exclude which: what must not be queued or running when a kind is asked for,
#: checked in this order (a tuple of kinds: the newest active job of them). A GC pulls the
#: registry from under an update, a verification or a retention run's deletes (and must not
#: collect while manifests are being deleted); those three need the registry to themselves
#: and a snapshot pause stops them; one sync at a time; statistics run beside anything.
EXCLUDES: Mapping[str, tuple[tuple[str, ...] | str, ...]] = {
    Kind.GC: ((Kind.GC,), MAINTENANCE_LOCK, (Kind.UPDATE, Kind.VERIFY, Kind.RETENTION, Kind.REGISTRY_LOGIN)),
    Kind.UPDATE: _REGISTRY_JOB,
    Kind.VERIFY: _REGISTRY_JOB,
    Kind.RETENTION: _REGISTRY_JOB,
    # Require login for the registry, or stop (access.switch): it recreates the container.
    Kind.REGISTRY_LOGIN: _REGISTRY_JOB,
    Kind.SYNC: ((Kind.SYNC,),),
    # The scrub (inventory.scrub) only reads the storage files: one at a time, beside anything else.
    # A GC sweeping meanwhile can remove a blob it listed: it checks a "missing" blob again before
    # reporting it, so what a GC removed with its manifest is not reported as damage.
    Kind.SCRUB: ((Kind.SCRUB,),),
    Kind.STATS: (),
}

#: The kinds whose running job a pause or a restart of the registry container must wait for
#: (``maintenance.container_actions``): they exec in it, recreate it or delete through it.
HOLD_THE_CONTAINER = (Kind.GC, Kind.UPDATE, Kind.RETENTION, Kind.REGISTRY_LOGIN)

#: Conditions other than jobs, by name: a check that returns why the kind must wait, or None.
_conditions: dict[str, Callable[[], str | None]] = {}


def register_condition(name: str, check: Callable[[], str | None]) -> None:
    """Let the app that knows the condition (maintenance: the snapshot pause) answer for it."""
    _conditions[name] = check


class JobRequestError(ActionableError):
    """A job that cannot be queued; ``message`` says why and what to do, ``status`` the HTTP status."""

    status = 409


class JobReference(TypedDict):
    """What a 202 or a 409 says of a job (``jobs.api.serializers.JobReferenceSerializer``)."""

    id: int
    url: str
    page: str
    status: str


def job_reference(request: HttpRequest | None, job: Job) -> JobReference:
    """The job's id, its API and page addresses (absolute when there is a request), its status."""
    api, page = f"/api/v1/jobs/{job.pk}/", job.get_absolute_url()
    if request is not None:
        api, page = request.build_absolute_uri(api), request.build_absolute_uri(page)
    return {"id": job.pk, "url": api, "page": page, "status": job.status}


class JobBusy(JobRequestError):
    """Something that must not overlap is queued or running (409); ``job`` is it, when it is a job."""

    def __init__(self, message: str, job: Job | None = None) -> None:
        super().__init__(message)
        self.job = job

    def body(self, request: HttpRequest | None = None) -> dict[str, Any]:
        """``{"detail"}``, and ``job`` (``JobReference``) when a job is in the way."""
        body = super().body(request)
        if self.job is not None:
            body["job"] = job_reference(request, self.job)
        return body


class QueueContended(JobRequestError):
    """Another request held the queueing lock for too long."""


class JobsUnavailable(JobRequestError, ServiceUnavailable):
    """Redis (REDIS_URL) does not answer: nothing can be queued (503, also where no view catches it)."""

    status = 503


class NeedsUnreachable(JobRequestError, ServiceUnavailable):
    """The registry or the engine the kind needs could not be reached at its last check (503): not
    queued, rather than a job that fails a second later (``core.reachability``)."""

    status = 503


def active(*kinds: str) -> Job | None:
    """The newest queued or running job of ``kinds``."""
    return Job.objects.filter(kind__in=kinds, status__in=ACTIVE).first()


def busy(
    kind: str,
    *,
    ignore: Job | None = None,
    lock_free: bool = False,
    client: redis.Redis | None = None,
) -> JobBusy | None:
    """What is in the way of a job of ``kind`` (``EXCLUDES``), or None.

    ``ignore`` is the caller's own job (a worker checking again); ``lock_free`` skips the
    maintenance lock (a worker that holds it, or a check the GC watchdog's moment must not fail).
    """
    for blocker in EXCLUDES[kind]:
        if blocker == MAINTENANCE_LOCK:
            if not lock_free and lock.gc_lock_held(client):
                return JobBusy(_lock_message(kind))
            continue
        if isinstance(blocker, str):
            check = _conditions.get(blocker)
            reason = check() if check is not None else None
            if reason:
                return JobBusy(reason)
            continue
        jobs = Job.objects.filter(kind__in=blocker, status__in=ACTIVE)
        if ignore is not None:
            jobs = jobs.exclude(pk=ignore.pk)
        job = jobs.first()
        if job is not None:
            return JobBusy(_job_message(kind, job), job)
    return None


def _lock_message(kind: str) -> str:
    if kind == Kind.GC:
        return (
            "A garbage collection is already queued or running: a garbage collection whose lock is still held. "
            "Wait for it to finish."
        )
    return "A garbage collection or registry update holds the maintenance lock: try again shortly."


def _job_message(kind: str, job: Job) -> str:
    """The sentence a refused request answers with: what is in the way and what to do."""
    if kind == Kind.SYNC:
        return f"A sync is already {job.status} (job {job.pk})."
    if kind == Kind.SCRUB:
        return f"A scrub is already {job.status} (job {job.pk}): wait for it to finish."
    if kind == Kind.GC:
        if job.kind == Kind.GC:
            return (
                f"A garbage collection is already queued or running: job {job.pk} ({job.status}). "
                "Wait for it to finish."
            )
        where = "see /retention/" if job.kind == Kind.RETENTION else "see the Registry page"
        return (
            f"A {job.get_kind_display().lower()} is in progress (job {job.pk}, {job.status}): wait until it ends "
            f"({where}), then run the garbage collection."
        )
    if job.kind == Kind.GC:
        return (
            f"A garbage collection is in progress (job {job.pk}, {job.status}): wait until it ends "
            "(see /maintenance/), then try again."
        )
    if job.kind == Kind.RETENTION:
        return f"A retention run is in progress (job {job.pk}): wait until it ends, then try again."
    return (
        f"A {job.get_kind_display().lower()} is in progress (job {job.pk}, {job.status}): wait until it "
        "ends, then try again."
    )


def queue(
    task_name: str,
    kind: str,
    params: Mapping[str, Any],
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    scheduled: bool = False,
) -> Job:
    """Queue a job of ``kind`` run by the task ``task_name``: the one way every kind is queued.

    Who asked is recorded on the job (``Job.requested_via``): the request's user or API token,
    ``scheduled`` (beat), or, queued from inside another job (a retention run's GC), that job's
    asker; with none of them, the dashboard itself.

    JobBusy (409) when ``busy`` finds something in the way, QueueContended when another
    request holds the queueing lock, JobsUnavailable (503, naming REDIS_URL) without Redis.
    """
    # A person or a script asking (a request) is told at once; schedules and a worker's start
    # (no request) queue as before, and their job says what failed.
    unreachable = reachability.blocking(kind) if request is not None else None
    if unreachable:
        raise NeedsUnreachable(unreachable)
    # A job no worker took (none was running) must not block every later request.
    if not EXCLUDES[kind]:
        # Nothing to check, so nothing to hold the lock for: without Redis the job is kept, failed,
        # naming REDIS_URL (``enqueue``).
        runner.expire_unclaimed(kind)
        return enqueue(task_name, kind, params, request=request, user=user, scheduled=scheduled)
    try:
        client = lock.redis_client()
        try:
            # Check-then-create under the short lock: two requests at the same moment cannot both pass.
            with lock.enqueue_lock(client):
                runner.expire_unclaimed(kind)
                conflict = busy(kind, client=client)
                if conflict is not None:
                    raise conflict
                return enqueue(task_name, kind, params, request=request, user=user, scheduled=scheduled)
        finally:
            client.close()
    except redis.exceptions.LockError as e:
        raise QueueContended("Another maintenance request is being queued right now; try again.") from e
    except redis.exceptions.ConnectionError as e:
        raise JobsUnavailable(f"Redis (REDIS_URL) does not answer, so no job can be queued: {e}") from e


def _asker(
    request: HttpRequest | None, user: AbstractBaseUser | AnonymousUser | None, scheduled: bool
) -> dict[str, Any]:
    """The ``Job`` fields that say who asked."""
    if user is None and request is not None:
        user = request.user
    owner = user if user is not None and user.is_authenticated else None
    name = owner.get_username() if owner is not None else ""
    if scheduled:
        return {"user": None, "requested_via": Job.RequestedVia.SCHEDULE, "requested_by": "", "token_name": ""}
    if request is not None:
        # DRF's request.auth: the ApiToken (core.tokens, it has a name) or DRF's own Token.
        token = getattr(request, "auth", None)
        if token is not None and (hasattr(token, "key") or hasattr(token, "key_hash")):
            token_name = str(getattr(token, "name", "") or "")
            return {
                "user": owner,
                "requested_via": Job.RequestedVia.TOKEN,
                "requested_by": name,
                "token_name": token_name,
            }
        if owner is not None:
            return {"user": owner, "requested_via": Job.RequestedVia.SESSION, "requested_by": name, "token_name": ""}
    # Queued by a job for whoever asked for that job (a retention run's GC), or by the dashboard itself.
    acting = audit.acting()
    if acting is not None and user is None and request is None:
        return {
            "user": acting.user,
            "requested_via": acting.requested_via or Job.RequestedVia.SYSTEM,
            "requested_by": "" if acting.actor in ("scheduler", "system") else acting.actor,
            "token_name": acting.token_name,
        }
    if owner is not None:
        return {"user": owner, "requested_via": Job.RequestedVia.SESSION, "requested_by": name, "token_name": ""}
    return {"user": None, "requested_via": Job.RequestedVia.SYSTEM, "requested_by": "", "token_name": ""}


def enqueue(
    task_name: str,
    kind: str,
    params: Mapping[str, Any],
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    scheduled: bool = False,
) -> Job:
    """Create the job and send the task ``task_name`` with its id once the row is committed (the
    worker must see it). Callers go through ``queue``, which checks what excludes the kind.

    The job and its audit entry are written together or not at all (a full or locked
    database). When Redis does not take the task, the job is recorded as failed with the
    reason and ``worker.QueueUnavailable`` (503, naming REDIS_URL) is raised: never a job left
    "queued" that no worker will ever see.
    """
    asker = _asker(request, user, scheduled)
    params = dict(params)
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=params, **asker)
        if request is None and asker["requested_via"] == Job.RequestedVia.SCHEDULE:
            # The scheduler queued it: "the scheduler queued garbage collection #12".
            audit.record(action=f"{kind}-queued", outcome="started", via="scheduler", detail=f"job {job.pk} {params}")
        else:
            audit.record(
                action=f"{kind}-queued",
                outcome="started",
                request=request,
                user=user if request is None else None,
                detail=f"job {job.pk} {params}",
            )

    def send() -> None:
        try:
            worker.send(task_name, job.pk)
        except worker.QueueUnavailable as e:
            runner.fail(job, e.message)
            raise

    transaction.on_commit(send)
    return job

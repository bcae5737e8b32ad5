"""What the web side asks of maintenance: the Maintenance and Registry pages and the API call these.

Every state change a user makes goes through here and is audited here, so a page and its
API twin leave the same audit entry: GC schedules created, changed and deleted, the
statistics interval, statistics collected on demand, garbage collections queued
(``jobs.services.enqueue`` audits those), the container's pause, resume and restart (the worker
that does them audits them, ``maintenance.container_actions``).

Nothing here opens the Docker engine: work for it is sent to a worker by task name.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_celery_beat.models import PeriodicTask

from core import audit
from core.worker import WorkerAnswer, ask_worker
from jobs import services as job_services
from jobs.models import Job
from maintenance import diagnostics, gc_requests, registry_jobs, schedules, snapshot, stats, task_names

#: How long a request waits for a worker to pause, resume or restart the registry before
#: answering that it was only requested.
ACTION_WAIT = {"pause": 10.0, "unpause": 10.0, "restart": 15.0}
ACTION_TASKS = {
    "pause": task_names.PAUSE_REGISTRY,
    "unpause": task_names.UNPAUSE_REGISTRY,
    "restart": task_names.RESTART_REGISTRY,
}

# --- Garbage collection and its schedules ----------------------------------------------


def queue_gc(params: gc_requests.GcParams, request: HttpRequest) -> Job:
    """Queue a GC for the user of ``request`` (GcError, JobBusy, JobRequestError when it cannot be)."""
    return gc_requests.request_gc(params, request=request)


def create_schedule(data: dict[str, Any], request: HttpRequest) -> PeriodicTask:
    """A new GC schedule (ScheduleInvalid when ``data`` is wrong), audited."""
    task = schedules.create(data)
    audit.record(action="gc-schedule-created", outcome="succeeded", request=request, detail=str(data))
    return task


def change_schedule(
    task: PeriodicTask, data: dict[str, Any], request: HttpRequest, partial: bool = True
) -> PeriodicTask:
    """Change cron, params or enabled of a GC schedule (ScheduleInvalid when wrong), audited;
    ``partial`` False replaces it (PUT)."""
    task = schedules.update(task, data, partial=partial)
    changes = {key: value for key, value in data.items() if key != "enabled"}
    detail = f"schedule {task.pk} {'enabled' if task.enabled else 'disabled'}" + (f" {changes}" if changes else "")
    audit.record(action="gc-schedule-changed", outcome="succeeded", request=request, detail=detail)
    return task


def delete_schedule(task: PeriodicTask, request: HttpRequest) -> None:
    detail = f"schedule {task.pk} '{schedules.cron_of(task)}'"
    task.delete()
    audit.record(action="gc-schedule-deleted", outcome="succeeded", request=request, detail=detail)


# --- Statistics ---------------------------------------------------------------------------


def collect_stats(request: HttpRequest) -> Job:
    """A statistics job a worker runs now (audited as queued by ``jobs.services.enqueue``); nothing
    excludes it, so only JobRequestError (Redis) stops it."""
    return job_services.queue(task_names.COLLECT_STATS, Job.Kind.STATS, {}, request=request)


def set_stats_interval(seconds: int, request: HttpRequest) -> PeriodicTask:
    """How often beat collects statistics, audited."""
    task = stats.set_interval(seconds)
    audit.record(
        action="schedule-changed",
        outcome="succeeded",
        request=request,
        detail=f"{stats.SCHEDULE_NAME}: every {seconds} s",
    )
    return task


# --- The registry container ----------------------------------------------------------------


def container_snapshot(max_age: float, wait: float) -> snapshot.Snapshot | None:
    """The container as a worker saw it at most ``max_age`` s ago (asked afresh, waiting ``wait`` s)."""
    return snapshot.fresh_snapshot(max_age=max_age, wait=wait)


def container_action(action: str, request: HttpRequest, *args: Any) -> WorkerAnswer:
    """Ask a worker to pause (``args``: seconds), unpause or restart the registry and wait for it.

    The worker audits what it did or why it refused; ``answered`` is False when no worker
    took the request within ACTION_WAIT (it expires unseen after ``snapshot.ACTION_EXPIRES``).
    """
    return ask_worker(
        ACTION_TASKS[action],
        request.user.pk,
        *args,
        audit.via_of(request),
        wait=ACTION_WAIT[action],
        expires=snapshot.ACTION_EXPIRES,
    )


def queue_update(request: HttpRequest) -> Job:
    """An update of the registry container (JobBusy, JobRequestError when it cannot be queued)."""
    return registry_jobs.request_update(request=request)


def queue_verify(request: HttpRequest) -> Job:
    """A verification of every tag's manifest and blobs (JobBusy, JobRequestError when it cannot be queued)."""
    return registry_jobs.request_verify(request=request)


def diagnostics_report(wait: float = diagnostics.WORKER_WAIT) -> diagnostics.Report:
    """Every diagnostic check, from a worker's fresh snapshot and the web process's own."""
    return diagnostics.run(snapshot.fresh_snapshot(max_age=diagnostics.SNAPSHOT_MAX_AGE, wait=wait), wait)

"""GC schedules: django-celery-beat's PeriodicTask + CrontabSchedule, seen as {task, cron, params}.

Beat (``CELERY_BEAT_SCHEDULER`` = the database scheduler) fires ``scheduled_gc``, which
queues a Job like a user would, with no user: the audit log says "scheduler". Creating,
changing and deleting a schedule goes through ``maintenance.services``, which audits it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from celery.schedules import crontab
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core import audit
from core.errors import InvalidFields
from jobs.services import JobRequestError
from maintenance import task_names
from maintenance.gc_requests import GcError, GcParams, GcParamsInvalid, request_gc

TASKS = {"gc": task_names.SCHEDULED_GC}
TASK_NAMES = {v: k for k, v in TASKS.items()}


def _cron_field(number: str) -> str:
    """A list of ``*``, ``*/step``, ``N``, ``N-M`` or ``N-M/step`` (what celery's crontab reads)."""
    step = r"/[1-9][0-9]{0,2}"
    item = rf"(\*({step})?|({number})(-({number})({step})?)?)"
    return rf"{item}(,{item})*"


#: The cron expressions the API documents, each one valid for celery: minute 0-59, hour 0-23,
#: day of month 1-28 (29-31 are taken too, in months that have them), month 1-12, weekday 0-6.
CRON_PATTERN = (
    "^"
    + " ".join(
        _cron_field(number)
        for number in (r"[0-5]?[0-9]", r"[01]?[0-9]|2[0-3]", r"0?[1-9]|1[0-9]|2[0-8]", r"0?[1-9]|1[0-2]", r"[0-6]")
    )
    + "$"
)


class ScheduleInvalid(InvalidFields):
    """A schedule's fields that are not valid (400, each field with its message)."""


def all_schedules() -> QuerySet[PeriodicTask]:
    tasks: QuerySet[PeriodicTask] = (
        PeriodicTask.objects.filter(task__in=TASKS.values()).select_related("crontab").order_by("id")
    )
    return tasks


def parse_cron(cron: Any) -> dict[str, str]:
    """``"0 3 * * 0"`` -> CrontabSchedule fields; ScheduleInvalid({"cron": why}) when wrong."""
    if not isinstance(cron, str) or len(cron.split()) != 5:
        raise ScheduleInvalid(
            {"cron": "Expected five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 0'."}
        )
    minute, hour, day_of_month, month_of_year, day_of_week = cron.split()
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
    }
    try:
        crontab(**fields)
    except (ValueError, TypeError) as e:
        raise ScheduleInvalid({"cron": f"'{cron}' is not a valid cron expression: {e}"}) from e
    return fields


def cron_of(task: PeriodicTask) -> str:
    c = task.crontab
    if c is None:
        return ""
    return f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"


def params_of(task: PeriodicTask) -> dict[str, Any]:
    try:
        value = json.loads(task.kwargs or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def next_run(task: PeriodicTask, now: dt.datetime | None = None) -> dt.datetime | None:
    """When beat will fire it next (None when disabled)."""
    if not task.enabled or task.crontab is None:
        return None
    now = now or timezone.now()
    schedule = task.crontab.schedule
    estimate: dt.datetime = now + schedule.remaining_estimate(now)
    # Cron fires on whole minutes; celery's estimate lands a few microseconds before one.
    return (estimate + dt.timedelta(seconds=30)).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Schedule:
    """A GC schedule as the API answers it (``maintenance.api.schema.ScheduleSerializer``)."""

    id: int
    task: str  # "gc"
    cron: str
    enabled: bool
    params: dict[str, Any]
    next_run: dt.datetime | None
    last_run: dt.datetime | None
    total_run_count: int

    @classmethod
    def of(cls, task: PeriodicTask) -> Schedule:
        return cls(
            id=task.pk,
            task=TASK_NAMES.get(task.task, task.task),
            cron=cron_of(task),
            enabled=task.enabled,
            params=params_of(task),
            next_run=next_run(task),
            last_run=task.last_run_at,
            total_run_count=task.total_run_count,
        )


def _validated(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = sorted(set(data) - {"task", "cron", "enabled", "params"})
    for name in unknown:
        errors[name] = "Unknown field: a schedule has task, cron, enabled and params."
    task = data.get("task", "gc")
    if ("task" in data or not partial) and (not isinstance(task, str) or task not in TASKS):
        errors["task"] = f"Must be one of {', '.join(TASKS)}."
    if "cron" in data or not partial:
        if "cron" not in data:
            errors["cron"] = "Required, e.g. '0 3 * * 0' (Sundays at 03:00)."
        else:
            try:
                clean["crontab"] = parse_cron(data["cron"])
            except ScheduleInvalid as e:
                errors.update(e.errors)
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors["enabled"] = "Must be true or false."
        clean["enabled"] = data["enabled"]
    if "params" in data or not partial:
        params = data.get("params", {})
        if not isinstance(params, dict):
            errors["params"] = 'Must be an object, e.g. {"mode": "read-only"}.'
        else:
            try:
                clean["params"] = GcParams.parse(params).as_dict()
            except GcParamsInvalid as e:
                errors["params"] = "; ".join(f"{k}: {v}" for k, v in e.errors.items())
    if errors:
        raise ScheduleInvalid(errors)
    return clean


def _crontab(fields: dict[str, str]) -> CrontabSchedule:
    schedule, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=timezone.get_current_timezone_name())
    return schedule


@transaction.atomic
def create(data: dict[str, Any]) -> PeriodicTask:
    clean = _validated(data, partial=False)
    return PeriodicTask.objects.create(
        name=f"gc {uuid.uuid4().hex[:12]}",
        task=TASKS["gc"],
        crontab=_crontab(clean["crontab"]),
        kwargs=json.dumps(clean["params"]),
        enabled=clean.get("enabled", True),
        description="Garbage collection (registry-admin)",
    )


@transaction.atomic
def update(task: PeriodicTask, data: dict[str, Any], partial: bool = True) -> PeriodicTask:
    """Change what ``data`` gives; ``partial`` False replaces the schedule (cron required, the
    other fields back to their defaults when absent), as a PUT does."""
    clean = _validated(data, partial=partial)
    if not partial:
        clean.setdefault("enabled", True)
    if "crontab" in clean:
        task.crontab = _crontab(clean["crontab"])
    if "params" in clean:
        task.kwargs = json.dumps(clean["params"])
    if "enabled" in clean:
        task.enabled = clean["enabled"]
    task.save()
    return task


def fire(params: dict[str, Any]) -> None:
    """Beat fired a GC schedule: queue it, or note in the audit log why not."""
    try:
        request_gc(GcParams.parse(params), scheduled=True)
    except (GcError, JobRequestError, GcParamsInvalid) as e:
        detail = str(e.errors) if isinstance(e, GcParamsInvalid) else e.message
        audit.record(action="gc-scheduled", outcome="refused", via="scheduler", detail=detail)
        return
    # Queued: jobs.services.enqueue has written the "gc-queued" entry, via "scheduler"; the job is
    # the schedule's (Job.requested_via), and what it does is the scheduler's in the audit log.

"""A policy's ``schedule``: one django-celery-beat PeriodicTask per policy, like the GC schedules.

Beat fires ``retention.tasks.scheduled_retention(policy_id)``, which queues a run as the
scheduler (no user); a run beat cannot queue (a GC in progress) is noted in the audit log.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core import audit
from jobs.services import JobRequestError
from maintenance import schedules as gc_schedules
from retention import requests, task_names
from retention.models import RetentionPolicy


def sync(policy: RetentionPolicy) -> None:
    """Create, change or remove the policy's beat entry to match its schedule and ``enabled``."""
    task = policy.periodic_task
    if not policy.schedule.strip():
        if task is not None:
            policy.periodic_task = None
            policy.save(update_fields=["periodic_task"])
            task.delete()
        return
    fields = gc_schedules.parse_cron(policy.schedule.strip())
    crontab, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=timezone.get_current_timezone_name())
    with transaction.atomic():
        if task is None:
            task = PeriodicTask(name=f"retention policy {policy.pk}", task=task_names.SCHEDULED_RETENTION)
        task.crontab = crontab
        task.kwargs = json.dumps({"policy_id": policy.pk})
        task.enabled = policy.enabled
        task.description = f"Retention policy {policy.name} (registry-admin)"
        task.save()
        if policy.periodic_task_id != task.pk:
            policy.periodic_task = task
            policy.save(update_fields=["periodic_task"])


def remove(policy: RetentionPolicy) -> None:
    if policy.periodic_task is not None:
        policy.periodic_task.delete()


def next_run(policy: RetentionPolicy) -> dt.datetime | None:
    task = policy.periodic_task
    return gc_schedules.next_run(task) if task is not None else None


def fire(policy_id: int) -> None:
    """Beat fired a policy's schedule: queue its run, or note in the audit log why not."""
    policy = RetentionPolicy.objects.filter(pk=policy_id).first()
    if policy is None or not policy.enabled:
        detail = f"policy {policy_id} " + ("no longer exists" if policy is None else "is disabled")
        audit.record(action="retention-scheduled", outcome="refused", via="scheduler", detail=detail)
        return
    try:
        requests.request_run(policy, scheduled=True)
    except JobRequestError as e:
        audit.record(
            action="retention-scheduled", outcome="refused", via="scheduler", detail=f"{policy.name}: {e.message}"
        )
    # Queued: jobs.services.enqueue has written the "retention-queued" entry, via "scheduler".

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery.beat import Service
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from core.models import AuditEntry
from jobs.models import Job
from maintenance import schedules
from registry_admin.celery import app
from testenv.images import push_oci_image

# Database-heavy: make test runs these on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.database

SCHEDULE = {"task": "gc", "cron": "0 3 * * 0", "enabled": True, "params": {"mode": "stop"}}


@pytest.mark.django_db
def test_admins_create_read_change_and_delete_a_schedule(admin_client_role):
    created = admin_client_role.post("/api/v1/schedules/", SCHEDULE, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["task"] == "gc" and body["cron"] == "0 3 * * 0" and body["enabled"] is True
    assert body["params"] == {"dry_run": False, "delete_untagged": False, "mode": "stop"}
    next_run = dt.datetime.fromisoformat(body["next_run"])
    assert next_run.weekday() == 6 and next_run.hour == 3 and next_run.minute == 0
    task = PeriodicTask.objects.get(pk=body["id"])
    assert task.task == "maintenance.tasks.scheduled_gc"

    url = f"/api/v1/schedules/{body['id']}/"
    changed = admin_client_role.patch(url, {"enabled": False, "cron": "30 2 * * *"}, content_type="application/json")
    assert changed.status_code == 200
    assert changed.json()["cron"] == "30 2 * * *" and changed.json()["next_run"] is None
    assert admin_client_role.get("/api/v1/schedules/").json()["results"][0]["enabled"] is False
    assert admin_client_role.delete(url).status_code == 204
    assert not PeriodicTask.objects.filter(pk=body["id"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SCHEDULE, "cron": "0 3 * *"}, "cron"),
        ({**SCHEDULE, "cron": "61 3 * * 0"}, "cron"),
        ({**SCHEDULE, "task": "stats"}, "task"),
        ({**SCHEDULE, "params": {"mode": "never"}}, "params"),
        ({**SCHEDULE, "enabled": "on"}, "enabled"),
        ({**SCHEDULE, "params": None}, "params"),
    ],
)
def test_it_answers_400_for_a_bad_schedule(admin_client_role, body, field):
    response = admin_client_role.post("/api/v1/schedules/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not PeriodicTask.objects.filter(task="maintenance.tasks.scheduled_gc").exists()


@pytest.mark.django_db
def test_a_put_replaces_the_schedule_so_it_needs_a_cron_and_resets_what_it_leaves_out(admin_client_role):
    task = schedules.create({**SCHEDULE, "enabled": False})
    url = f"/api/v1/schedules/{task.pk}/"
    empty = admin_client_role.put(url, {}, content_type="application/json")
    assert empty.status_code == 400 and "cron" in empty.json()
    replaced = admin_client_role.put(url, {"cron": "15 4 * * 1"}, content_type="application/json")
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert body["cron"] == "15 4 * * 1" and body["enabled"] is True
    assert body["params"] == {"dry_run": False, "delete_untagged": False, "mode": "read-only"}


@pytest.mark.django_db
def test_only_admins_change_schedules(operator_client, viewer_client):
    assert operator_client.post("/api/v1/schedules/", SCHEDULE, content_type="application/json").status_code == 403
    task = schedules.create(SCHEDULE)
    assert viewer_client.get(f"/api/v1/schedules/{task.pk}/").status_code == 200
    response = operator_client.patch(
        f"/api/v1/schedules/{task.pk}/", {"enabled": False}, content_type="application/json"
    )
    assert response.status_code == 403
    assert viewer_client.delete(f"/api/v1/schedules/{task.pk}/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_due_schedule_fires_through_beat_and_runs_a_gc(private_registry, celery_worker, monkeypatch):
    """Drives django-celery-beat's DatabaseScheduler tick in-process (no beat subprocess)."""
    push_oci_image(private_registry.url, "something", "v1")
    monkeypatch.setitem(app.conf, "beat_schedule", {})  # only our schedule
    task = schedules.create({"task": "gc", "cron": "* * * * *", "params": {"dry_run": True}})
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now() - dt.timedelta(minutes=5))
    scheduler = Service(app=app, scheduler_cls=DatabaseScheduler).get_scheduler()
    scheduler.tick()

    deadline = time.monotonic() + 60
    job = None
    while time.monotonic() < deadline:
        job = Job.objects.filter(kind="gc").first()
        if job and not job.is_active:
            break
        time.sleep(0.3)
    assert job is not None, "beat did not queue a job"
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert job.user is None and job.params["dry_run"] is True
    assert AuditEntry.objects.filter(action="gc-queued", via="scheduler", actor="system").exists()
    assert job.requested_via == "schedule" and job.asked_by == "the schedule"
    finished = AuditEntry.objects.get(action="gc-finished")
    assert (finished.actor, finished.via) == ("scheduler", f"gc run #{job.pk}")
    task.refresh_from_db()
    assert task.total_run_count == 1

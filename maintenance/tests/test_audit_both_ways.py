"""Every state change leaves the same audit entry whether it came through a page or the API.

The services record it (maintenance.services), so the two ways cannot drift apart.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_celery_beat.models import PeriodicTask

from core.models import AuditEntry
from jobs.models import Job
from maintenance import schedules, stats

SCHEDULE = {"task": "gc", "cron": "0 3 * * 0", "enabled": True, "params": {"mode": "stop"}}


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def create_through_the_page(client: Client) -> PeriodicTask:
    response = client.post("/maintenance/schedules/", {"cron": "0 3 * * 0", "mode": "stop", "enabled": "on"})
    assert response.status_code == 302, response.content
    return schedules.all_schedules().latest("id")


def create_through_the_api(client: Client) -> PeriodicTask:
    response = client.post("/api/v1/schedules/", SCHEDULE, content_type="application/json")
    assert response.status_code == 201, response.content
    return PeriodicTask.objects.get(pk=response.json()["id"])


@pytest.mark.django_db
def test_creating_a_schedule_is_audited_through_the_page_and_the_api(
    admin_client_role: Client, admin_user: User
) -> None:
    create_through_the_page(admin_client_role)
    create_through_the_api(admin_client_role)

    page, api = entries("gc-schedule-created")
    for entry in (page, api):
        assert entry.outcome == "succeeded" and entry.actor == admin_user.username and entry.via == "session"
        assert "0 3 * * 0" in entry.detail and "'mode': 'stop'" in entry.detail


@pytest.mark.django_db
def test_changing_a_schedule_is_audited_through_the_page_and_the_api(
    admin_client_role: Client, admin_user: User
) -> None:
    task = create_through_the_api(admin_client_role)

    assert admin_client_role.post(f"/maintenance/schedules/{task.pk}/toggle/").status_code == 302
    response = admin_client_role.patch(
        f"/api/v1/schedules/{task.pk}/", {"enabled": True, "cron": "30 2 * * *"}, content_type="application/json"
    )
    assert response.status_code == 200

    page, api = entries("gc-schedule-changed")
    assert page.detail == f"schedule {task.pk} disabled"
    assert api.detail.startswith(f"schedule {task.pk} enabled") and "30 2 * * *" in api.detail
    assert {page.actor, api.actor} == {admin_user.username} and {page.outcome, api.outcome} == {"succeeded"}


@pytest.mark.django_db
def test_deleting_a_schedule_is_audited_through_the_page_and_the_api(
    admin_client_role: Client, admin_user: User
) -> None:
    by_page = create_through_the_api(admin_client_role)
    by_api = create_through_the_api(admin_client_role)

    assert admin_client_role.post(f"/maintenance/schedules/{by_page.pk}/delete/").status_code == 302
    assert admin_client_role.delete(f"/api/v1/schedules/{by_api.pk}/").status_code == 204

    page, api = entries("gc-schedule-deleted")
    assert page.detail == f"schedule {by_page.pk} '0 3 * * 0'"
    assert api.detail == f"schedule {by_api.pk} '0 3 * * 0'"
    assert {page.actor, api.actor} == {admin_user.username}
    assert not PeriodicTask.objects.filter(pk__in=[by_page.pk, by_api.pk]).exists()


@pytest.mark.django_db
def test_a_refused_schedule_change_writes_no_entry(admin_client_role: Client) -> None:
    task = create_through_the_api(admin_client_role)
    response = admin_client_role.patch(
        f"/api/v1/schedules/{task.pk}/", {"cron": "61 3 * * 0"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert entries("gc-schedule-changed") == []


@pytest.mark.django_db
def test_the_statistics_interval_is_audited(admin_client_role: Client, admin_user: User) -> None:
    # The Registry page is the only way to change it (no API endpoint changes the interval).
    assert admin_client_role.post("/registry/stats/interval/", {"seconds": "120"}).status_code == 302

    (entry,) = entries("schedule-changed")
    assert entry.detail == f"{stats.SCHEDULE_NAME}: every 120 s" and entry.actor == admin_user.username
    assert stats.interval_seconds(stats.schedule()) == 120


@pytest.mark.django_db
def test_collecting_statistics_now_is_audited_through_the_page_and_the_api(
    operator_client: Client, operator: User
) -> None:
    assert operator_client.post("/registry/stats/collect/").status_code == 302
    assert operator_client.post("/api/v1/stats/collect/").status_code == 202

    page, api = entries("stats-queued")
    jobs = list(Job.objects.filter(kind=Job.Kind.STATS).order_by("id"))
    assert page.detail.startswith(f"job {jobs[0].pk} ") and api.detail.startswith(f"job {jobs[1].pk} ")
    assert {page.actor, api.actor} == {operator.username} and {page.outcome, api.outcome} == {"started"}


@pytest.mark.django_db
def test_queueing_a_gc_is_audited_through_the_page_and_the_api(
    operator_client: Client, operator: User, services: object
) -> None:
    assert operator_client.post("/maintenance/gc/", {"mode": "read-only", "dry_run": "on"}).status_code == 302
    Job.objects.filter(kind=Job.Kind.GC).update(status=Job.Status.SUCCEEDED)  # no worker runs it here
    response = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert response.status_code == 202, response.content

    page, api = entries("gc-queued")
    jobs = list(Job.objects.filter(kind=Job.Kind.GC).order_by("id"))
    assert page.detail.startswith(f"job {jobs[0].pk} ") and api.detail.startswith(f"job {jobs[1].pk} ")
    assert "'dry_run': True" in page.detail and "'dry_run': True" in api.detail
    assert {page.actor, api.actor} == {operator.username}


@pytest.mark.django_db(transaction=True)
def test_a_refused_pause_is_audited_through_the_page_and_the_api(
    operator_client: Client, operator: User, celery_worker: object
) -> None:
    # A running GC makes the worker refuse before it touches the engine: the shared registry stays as it is.
    Job.objects.create(kind=Job.Kind.GC, status=Job.Status.RUNNING, params={"mode": "read-only"})
    assert operator_client.post("/registry/actions/pause/", {"seconds": "60"}).status_code == 302
    response = operator_client.post("/api/v1/registry/pause/", {"seconds": 60}, content_type="application/json")
    assert response.status_code == 409, response.content

    page, api = entries("registry-pause")
    for entry in (page, api):
        assert entry.outcome == "refused" and entry.actor == operator.username and entry.via == "session"
        assert "garbage collection" in entry.detail

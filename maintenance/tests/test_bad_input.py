"""Malformed requests get a 4xx that says what is wrong, and change nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import Job
from maintenance import container_actions, snapshot
from maintenance.models import RegistryPause

# Database-heavy: make test runs these on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.database


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[1]", '{"seconds": 1e400}', '{"seconds": true}', '{"seconds": 2.7}', '"600"'])
def test_a_malformed_pause_is_refused_and_pauses_nothing(operator_client: Client, body: str) -> None:
    response = operator_client.post("/api/v1/registry/pause/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert RegistryPause.objects.count() == 0


def test_whole_seconds_may_come_as_digits_from_a_form() -> None:
    assert snapshot.pause_seconds("90") == 90
    assert snapshot.pause_seconds(90) == 90
    for bad in ("²", "-5", "1.5", 0, 10**9):
        with pytest.raises(ValueError, match="second"):
            snapshot.pause_seconds(bad)


@pytest.mark.django_db
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-05:00", "yesterday"])
def test_a_since_the_database_cannot_hold_is_a_400(viewer_client: Client, since: str) -> None:
    response = viewer_client.get(f"/api/v1/stats/history/?since={since}")
    assert response.status_code == 400
    assert "since" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"task": ["gc"], "cron": "0 3 * * 0"}, {"task": {}, "cron": "0 3 * * 0"}])
def test_a_schedule_task_that_is_not_a_name_is_a_400(admin_client_role: Client, body: dict) -> None:
    response = admin_client_role.post("/api/v1/schedules/", body, content_type="application/json")
    assert response.status_code == 400
    assert "task" in response.json()


@pytest.mark.django_db
def test_non_ascii_digits_in_ids_are_not_found_not_a_crash(admin_client_role: Client) -> None:
    assert admin_client_role.get("/maintenance/?job=%C2%B2").status_code == 200
    assert admin_client_role.get("/api/v1/schedules/%C2%B2/").status_code == 404


@pytest.mark.django_db
def test_the_registry_is_not_paused_or_restarted_during_a_garbage_collection(operator: object) -> None:
    job = Job.objects.create(kind=Job.Kind.GC, status=Job.Status.RUNNING, params={"mode": "read-only"})
    for answer in (container_actions.pause(None, 60, "session"), container_actions.restart(None, "session")):
        assert answer["ok"] is False
        assert f"job {job.pk}" in answer["error"] and "garbage collection" in answer["error"]
    assert RegistryPause.objects.count() == 0

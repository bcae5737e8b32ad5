"""POST/GET /api/v1/sync/: a reconcile as a Job, run by a real Celery worker."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.test import Client

from conftest import logged_in, make_user
from inventory.models import Tag
from jobs.models import Job
from testenv import images


@pytest.fixture
def repo_prefix() -> str:
    return f"inv-{uuid.uuid4().hex[:10]}"


@pytest.mark.django_db
def test_viewers_read_the_state_and_cannot_start_one(viewer_client: Client) -> None:
    state = viewer_client.get("/api/v1/sync/").json()
    assert state == {"running": False, "last_started": None, "last_finished": None, "last_result": None}
    answer = viewer_client.post("/api/v1/sync/")
    assert answer.status_code == 403
    assert not Job.objects.filter(kind="sync").exists()


@pytest.mark.django_db
def test_anonymous_callers_get_json_401_or_403() -> None:
    answer = Client().post("/api/v1/sync/")
    assert answer.status_code in (401, 403)
    assert "detail" in answer.json()


@pytest.mark.django_db
def test_a_second_request_while_one_is_queued_gets_409_with_it(operator_client: Client) -> None:
    first = operator_client.post("/api/v1/sync/")
    assert first.status_code == 202
    body = first.json()
    assert set(body) == {"id", "url", "page", "status"}
    assert body["status"] == "queued"
    assert body["url"].endswith(f"/api/v1/jobs/{body['id']}/")
    second = operator_client.post("/api/v1/sync/")
    assert second.status_code == 409
    assert second.json()["job"]["id"] == body["id"]
    assert operator_client.get("/api/v1/sync/").json()["running"] is True


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_it_and_the_state_says_what_it_did(celery_worker: Any, registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "v1")
    client = logged_in(make_user("olga", "operator"))
    job_id = client.post("/api/v1/sync/").json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if not job.is_active:
            break
        time.sleep(0.2)
    assert job.status == "succeeded", job.error
    assert Tag.objects.get(repository__name=repo_prefix, name="v1").digest == digest
    state = client.get("/api/v1/sync/").json()
    assert state["running"] is False
    assert state["last_finished"] is not None
    assert state["last_result"]["added_tags"] >= 1
    assert "new, " in job.output and "Done in" in job.output


@pytest.mark.django_db
def test_pages_say_how_fresh_they_are_and_operators_can_sync_now(
    operator_client: Client, viewer_client: Client, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from inventory.models import Event, SyncState

    first = viewer_client.get("/catalog/").content.decode()
    assert 'data-testid="freshness-first"' in first
    assert 'data-testid="sync-now"' not in first  # viewers cannot start one
    assert 'data-testid="sync-now"' in operator_client.get("/catalog/").content.decode()

    answer = operator_client.post("/maintenance/sync/", {"next": "/catalog/?q=x"})
    assert answer.status_code == 302 and answer["Location"] == "/catalog/?q=x"
    job = Job.objects.get(kind="sync")
    page = operator_client.get("/catalog/").content.decode()
    assert 'data-testid="sync-running"' in page and 'data-testid="sync-now"' not in page
    # Somewhere else is not a place to go back to.
    assert operator_client.post("/maintenance/sync/", {"next": "https://evil.example/"})["Location"] == "/catalog/"
    assert viewer_client.post("/maintenance/sync/").status_code == 403

    Job.objects.filter(pk=job.pk).update(status="succeeded", finished_at=timezone.now() - timedelta(seconds=40))
    SyncState.objects.create(pk=1, last_finished=timezone.now() - timedelta(seconds=40))
    assert 'data-testid="freshness-age"' in viewer_client.get("/catalog/").content.decode()
    settings.REGISTRY_EVENTS_TOKEN = "t"
    Event.objects.create(event_id="x", timestamp=timezone.now(), action="push", repository="a", processed=True)
    assert 'data-testid="freshness-live"' in viewer_client.get("/catalog/").content.decode()


@pytest.mark.django_db
def test_events_older_than_the_retention_are_pruned(settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from inventory import tasks
    from inventory.models import Event

    settings.EVENTS_RETENTION_DAYS = 90
    now = timezone.now()
    Event.objects.create(event_id="old", timestamp=now - timedelta(days=91), action="pull", processed=True)
    Event.objects.create(event_id="new", timestamp=now - timedelta(days=89), action="pull", processed=True)
    tasks.prune_events()
    assert list(Event.objects.values_list("event_id", flat=True)) == ["new"]


@pytest.mark.django_db
def test_a_worker_starting_on_an_empty_inventory_queues_the_first_sync(settings: Any) -> None:
    from inventory import tasks
    from inventory.models import Repository

    settings.INVENTORY_SYNC_ON_START = True
    tasks.sync_when_empty()
    assert Job.objects.filter(kind="sync", params__reason="first start").count() == 1
    tasks.sync_when_empty()  # one is queued already: nothing more
    assert Job.objects.filter(kind="sync").count() == 1
    Job.objects.all().delete()
    Repository.objects.create(name="known")
    tasks.sync_when_empty()  # not empty: the schedule keeps it current
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_schedule_queues_one_sync_at_a_time() -> None:
    from inventory import tasks

    tasks.scheduled_sync()
    tasks.scheduled_sync()
    assert list(Job.objects.filter(kind="sync").values_list("params__reason", flat=True)) == ["schedule"]

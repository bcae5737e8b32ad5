"""POST/GET /api/v1/sync/: a reconcile as a Job, run by a real Celery worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from conftest import logged_in, make_user
from inventory.models import Tag
from maintenance.models import Job
from testenv import images


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

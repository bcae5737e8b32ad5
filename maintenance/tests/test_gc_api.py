from __future__ import annotations

import time

import pytest

from core.models import AuditEntry
from jobs.models import Job
from testenv.images import push_oci_image

# Database-heavy: make test runs these on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.database


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "fast"}, "mode"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"delete_untagged": 1}, "delete_untagged"),
        ({"quiet": True}, "quiet"),
    ],
)
def test_it_answers_400_naming_the_bad_field(operator_client, body, field):
    response = operator_client.post("/api/v1/gc/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_viewers_may_not_start_a_gc(viewer_client):
    response = viewer_client.post("/api/v1/gc/", {}, content_type="application/json")
    assert response.status_code == 403
    assert "operator" in response.json()["detail"]


@pytest.mark.django_db
def test_the_defaults_are_a_real_read_only_run(operator_client):
    response = operator_client.post("/api/v1/gc/", {}, content_type="application/json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.params == {"dry_run": False, "delete_untagged": False, "mode": "read-only"}
    assert job.kind == "gc" and job.user.username == "otto"
    assert response.json()["status"] == "queued"
    assert response.json()["url"].endswith(f"/api/v1/jobs/{job.pk}/")


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_requested_through_the_api_runs_on_a_worker(
    transactional_db, private_registry, celery_worker, operator_client
):
    push_oci_image(private_registry.url, "something", "v1")
    response = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert response.status_code == 202
    job_url = response.json()["url"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = operator_client.get(job_url).json()
        if body["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.3)
    assert body["status"] == "succeeded", body
    assert body["result"]["mode"] == "dry-run"
    assert "blobs marked" in body["output"]
    assert set(body) >= {"id", "kind", "status", "params", "output", "result", "error", "created_at"}
    listed = operator_client.get("/api/v1/jobs/?kind=gc&status=succeeded").json()
    assert [j["id"] for j in listed["results"]] == [body["id"]]
    actions = set(AuditEntry.objects.values_list("action", "outcome"))
    assert {("gc-queued", "started"), ("gc-finished", "succeeded")} <= actions


@pytest.mark.django_db
def test_a_broker_that_does_not_answer_is_a_503(operator_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = operator_client.post("/api/v1/gc/", {}, content_type="application/json")
    assert response.status_code == 503
    assert "REDIS_URL" in response.json()["detail"]

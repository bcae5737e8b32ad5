from __future__ import annotations

import os
import re

import pytest
from django_celery_beat.models import PeriodicTask

from conftest import browser_login
from core.models import AuditEntry
from jobs.models import Job
from maintenance import gc_requests, schedules
from maintenance.tests.gc_helpers import delete_image, unique
from testenv.images import push_oci_image


@pytest.mark.django_db
def test_the_page_explains_the_modes_and_warns_about_online(operator_client):
    response = operator_client.get("/maintenance/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'href="/maintenance/"' in text  # nav item
    assert "Read-only (recommended)" in text
    assert "can lose" in text and "distribution#3045" in text
    assert "Dry run: only list what would be deleted" in text
    assert 'name="csrfmiddlewaretoken"' in text


@pytest.mark.django_db
def test_viewers_see_the_page_but_may_not_start_a_gc(viewer_client):
    text = viewer_client.get("/maintenance/").content.decode()
    assert "needs the operator role" in text and 'id="gc-form"' not in text
    assert viewer_client.post("/maintenance/gc/", {"mode": "read-only"}).status_code == 403
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_second_run_from_the_page_gets_409_naming_the_first(operator_client):
    first = operator_client.post("/maintenance/gc/", {"mode": "read-only", "dry_run": "on"})
    assert first.status_code == 302
    job = Job.objects.get()
    assert job.params == {"dry_run": True, "delete_untagged": False, "mode": "read-only"}
    second = operator_client.post("/maintenance/gc/", {"mode": "stop"})
    assert second.status_code == 409
    assert f"job {job.pk} (queued)" in second.content.decode()


@pytest.mark.django_db
def test_a_bad_mode_from_the_page_is_a_400(operator_client):
    assert operator_client.post("/maintenance/gc/", {"mode": "yolo"}).status_code == 400


@pytest.mark.django_db
def test_the_page_previews_the_last_dry_run_and_lists_freed_bytes(viewer_client):
    Job.objects.create(
        kind="gc",
        status="succeeded",
        params={"dry_run": True, "delete_untagged": False, "mode": "read-only"},
        output="blob eligible for deletion: sha256:" + "a" * 64 + "\n",
        result={"blobs_marked": 3, "blobs_eligible": 7, "manifests_eligible": 1, "bytes_before": 10, "bytes_after": 10},
        finished_at="2026-01-01T00:00:00Z",
    )
    Job.objects.create(
        kind="gc",
        status="succeeded",
        params={"dry_run": False, "delete_untagged": False, "mode": "stop"},
        result={"blobs_eligible": 2, "manifests_eligible": 0, "bytes_freed": 5 * 1024 * 1024},
        finished_at="2025-12-01T00:00:00Z",
    )
    text = viewer_client.get("/maintenance/").content.decode()
    assert "<strong>7</strong> blobs" in text
    assert "sha256:" + "a" * 64 in text
    assert "5.0\xa0MB" in text


@pytest.mark.django_db
def test_admins_add_toggle_and_delete_schedules_on_the_page(admin_client_role, operator_client):
    assert operator_client.post("/maintenance/schedules/", {"cron": "0 3 * * 0", "mode": "stop"}).status_code == 403
    bad = admin_client_role.post("/maintenance/schedules/", {"cron": "99 3 * * 0", "mode": "stop"})
    assert bad.status_code == 400 and "not a valid cron expression" in bad.content.decode()
    added = admin_client_role.post("/maintenance/schedules/", {"cron": "0 3 * * 0", "mode": "stop", "enabled": "on"})
    assert added.status_code == 302
    task = schedules.all_schedules().get()
    assert schedules.params_of(task)["mode"] == "stop" and task.enabled
    assert "0 3 * * 0" in admin_client_role.get("/maintenance/").content.decode()
    admin_client_role.post(f"/maintenance/schedules/{task.pk}/toggle/")
    task.refresh_from_db()
    assert not task.enabled
    admin_client_role.post(f"/maintenance/schedules/{task.pk}/delete/")
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_dry_run_then_the_confirmed_real_run_read_as_sentences(
    transactional_db, page, live_server, operator, private_registry, celery_worker, width
):
    repo = unique("browser")
    digest = push_oci_image(private_registry.url, repo, "v1", layers=[os.urandom(50_000)])
    delete_image(private_registry, repo, digest)
    AuditEntry.objects.create(
        action="delete-manifest",
        outcome="succeeded",
        repository=repo,
        digest=digest,
        detail=f"Deleted manifest {digest}",
        # As catalog.deletion.audit records it: what went, read back by gc_requests.
        fields={"by": "digest", "removed_tags": [], "deleted_manifests": [digest], "attached": []},
    )
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/maintenance/")
    page.check("input[name=dry_run]")
    page.check("#gc-form input[name=mode][value=stop]")
    page.click("[data-testid=gc-run]")
    page.wait_for_url("**/maintenance/?job=*")
    status = page.locator("#current-job [data-testid=job-status]")
    status.filter(has_text="succeeded").wait_for(timeout=30_000)
    # One source of truth: the recent runs say what the card says.
    page.locator("[data-testid=gc-recent-status]", has_text="succeeded").first.wait_for()
    outcome = page.inner_text("#current-job [data-testid=job-outcome]")
    assert re.match(r"Dry run: a real run would free 5\d\.\d\xa0KB \(3 blobs\)", outcome), outcome
    assert f"from 1 image in {repo}" in outcome
    # The raw log is folded; opened, it is searchable.
    page.click("#current-job [data-testid=job-log] summary")
    output = page.locator("#current-job [data-testid=job-output]")
    assert "blob eligible for deletion" in output.inner_text()
    if page.locator("[data-testid=job-log-search]").count():
        page.fill("[data-testid=job-log-search]", "eligible")
        assert all("eligible" in line for line in output.inner_text().splitlines() if line.strip())
    assert gc_requests.preview() is not None
    # The form kept the dry run's options.
    assert page.locator("#gc-form input[name=mode][value=stop]").is_checked()
    if width == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        return

    # Run it for real with the same options: a confirmation says the registry stops first.
    page.click("[data-testid=gc-rerun] button")
    confirm = page.locator("[data-testid=gc-confirm]")
    confirm.wait_for()
    assert "The registry is stopped for the run" in confirm.inner_text()
    assert Job.objects.count() == 1  # nothing queued before the confirmation
    page.click("[data-testid=gc-confirm-run]")
    page.wait_for_url("**/maintenance/?job=*")
    page.locator("#current-job [data-testid=job-status]", has_text="succeeded").wait_for(timeout=60_000)
    real = Job.objects.order_by("-pk").first()
    assert real.params == {"dry_run": False, "delete_untagged": False, "mode": "stop"}
    outcome = page.inner_text("#current-job [data-testid=job-outcome]")
    assert outcome.startswith("Freed ") and f"from 1 image in {repo}" in outcome, outcome

"""A policy's schedule fires through beat's scheduler; ``then_gc`` frees on disk what the preview promised."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import pytest
from celery.beat import Service
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from core.models import AuditEntry
from jobs.models import Job
from maintenance import gc
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import blob_path, manifest_blobs
from registry_admin.celery import app
from retention.models import RetentionPolicy
from retention.tests.helpers import create_policy, days_ago, exists, preview, push, run_policy
from testenv import images

LAYER = 300_000  # random bytes: what the registry stores is this size


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_run_fires_through_beat(
    registry: Any, repo_prefix: str, admin_client_role: Client, celery_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drives django-celery-beat's DatabaseScheduler tick in-process (no beat subprocess), as the GC's test does."""
    push(registry.url, repo_prefix, "old", 30)
    push(registry.url, repo_prefix, "new", 1)
    policy = create_policy(admin_client_role, repositories=[repo_prefix], keep_last=1, schedule="* * * * *")
    preview(admin_client_role, policy)  # syncs the inventory
    monkeypatch.setitem(app.conf, "beat_schedule", {})  # only our schedule
    task_id = RetentionPolicy.objects.get(pk=policy["id"]).periodic_task_id
    PeriodicTask.objects.filter(pk=task_id).update(last_run_at=timezone.now() - dt.timedelta(minutes=5))
    Service(app=app, scheduler_cls=DatabaseScheduler).get_scheduler().tick()

    deadline = time.monotonic() + 60
    job = None
    while time.monotonic() < deadline:
        job = Job.objects.filter(kind=Job.Kind.RETENTION).first()
        if job and not job.is_active:
            break
        time.sleep(0.3)
    assert job is not None, "beat did not queue a run"
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert job.user is None and [t["tag"] for t in job.result["deleted_tags"]] == ["old"]
    assert AuditEntry.objects.filter(action="retention-queued", via="scheduler", actor="system").exists()
    # Only a scheduled run is the scheduler's: its deletes say so, and which run made them.
    assert job.requested_via == "schedule" and job.asked_by == "the schedule"
    (deleted,) = AuditEntry.objects.filter(action="delete-tag", repository=repo_prefix)
    assert (deleted.actor, deleted.user, deleted.via) == ("scheduler", None, f"retention run #{job.pk}")
    assert not exists(registry.url, repo_prefix, "old") and exists(registry.url, repo_prefix, "new")
    assert PeriodicTask.objects.get(pk=task_id).total_run_count == 1


@BOTH_VERSIONS
@pytest.mark.django_db(transaction=True)
def test_then_gc_frees_on_disk_the_bytes_the_preview_promised(private_registry: Any, admin_client_role: Client) -> None:
    url, repo = private_registry.url, "team/app"
    images.push_oci_image(url, repo, "1.0", layers=[os.urandom(LAYER)], created=days_ago(30))
    images.push_oci_image(url, repo, "2.0", layers=[os.urandom(LAYER)], created=days_ago(20))
    images.push_oci_image(url, repo, "3.0", layers=[os.urandom(LAYER)], created=days_ago(1))
    going = manifest_blobs(private_registry, repo, "1.0")[1:] + manifest_blobs(private_registry, repo, "2.0")[1:]
    staying = manifest_blobs(private_registry, repo, "3.0")[1:]
    policy = create_policy(admin_client_role, repositories=["team/*"], keep_last=1, untagged=True, then_gc=True)
    found = preview(admin_client_role, policy)
    assert 2 * LAYER < found["bytes"] < 2 * LAYER + 5_000  # two layers and two configs

    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    gc_job = Job.objects.get(pk=job.result["gc_job"])
    assert gc_job.params == {"dry_run": False, "delete_untagged": False, "mode": "read-only"}
    gc.run(gc_job.pk)  # the worker's side, in this process
    gc_job.refresh_from_db()
    assert gc_job.status == Job.Status.SUCCEEDED, gc_job.error + gc_job.output
    # On disk: the promised blobs went (plus the manifests' own small files and directories), nothing more.
    assert found["bytes"] <= gc_job.result["bytes_freed"] < found["bytes"] + 60_000
    assert not any(blob_path(private_registry, blob).exists() for blob in going)
    assert all(blob_path(private_registry, blob).exists() for blob in staying)
    assert exists(url, repo, "3.0")


@pytest.mark.django_db
def test_no_gc_follows_a_run_that_deleted_nothing(registry: Any, repo_prefix: str, admin_client_role: Client) -> None:
    push(registry.url, repo_prefix, "only", 1)
    policy = create_policy(admin_client_role, repositories=[repo_prefix], keep_last=1, then_gc=True)
    found = preview(admin_client_role, policy)
    job = run_policy(admin_client_role, policy, found["fingerprint"])
    assert job.status == Job.Status.SUCCEEDED and job.result["gc_job"] is None
    assert not Job.objects.filter(kind=Job.Kind.GC).exists()

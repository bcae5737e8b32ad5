from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from core.models import AuditEntry
from maintenance import engine, gc, jobs
from maintenance.models import Job, RegistryMaintenance
from maintenance.tests.gc_helpers import gc_job, unique
from testenv.images import push_oci_image

pytestmark = pytest.mark.django_db


def test_it_refuses_delete_untagged_on_2x_with_the_reason(private_registry):
    container_id = private_registry.container.id
    job = gc_job(delete_untagged=True)
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "deletes the platform manifests of multi-arch images" in job.error
    assert "v3.0.0" in job.error
    assert private_registry.container.id == container_id
    assert "--delete-untagged" not in job.output.replace(job.error, "")


def test_it_fails_when_the_gc_prints_no_summary_even_with_exit_0(private_registry, monkeypatch):
    # 2.8 prints its usage and exits 0 for a flag it does not know (--quiet is v3 only).
    monkeypatch.setattr(gc.GcParams, "command", lambda self, config: ["registry", "garbage-collect", "--quiet", config])
    job = gc_job(dry_run=True)
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "printed no summary line" in job.error
    assert job.result["exit_code"] == 0


def test_it_refuses_a_paused_registry(private_registry):
    private_registry.container.pause()
    try:
        job = gc_job(mode="read-only")
        gc.run(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED
        assert "is paused" in job.error and "Resume it on the Registry page" in job.error
        assert private_registry.container.attrs["State"]["Paused"]
    finally:
        private_registry.container.unpause()


def test_a_second_job_does_not_run_while_the_lock_is_held(private_registry, monkeypatch):
    monkeypatch.setattr(gc, "LOCK_WAIT_SECONDS", 0.5)
    client = gc.redis_client()
    lock = gc.gc_lock(client)
    assert lock.acquire(blocking=False)
    try:
        job = gc_job(dry_run=True)
        gc.run(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED
        assert "holds the lock" in job.error
    finally:
        lock.release()
        client.close()


def _leave_in_maintenance(private_registry, mode: str) -> tuple[dict, Job]:
    """What a worker killed mid-run leaves: the saved configuration, a changed registry, a running job."""
    client = engine.connect()
    container = engine.get_container(client, private_registry.container_name)
    saved = container.attrs
    job = gc_job(mode=mode)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now() - dt.timedelta(hours=1))
    RegistryMaintenance.objects.create(job=job, container_name=private_registry.container_name, mode=mode, attrs=saved)
    if mode == "read-only":
        engine.wait_running(engine.recreate(client, saved, extra_env=[engine.READONLY_ENV]))
        assert gc.wait_answering()
    elif mode == "stop":
        engine.stop_container(container)
        engine.start_helper(client, saved, f"{private_registry.container_name}-gc-{job.pk}")
    else:  # killed between removing and recreating
        engine.remove_container(client, private_registry.container_name)
    client.close()
    return saved, job


@pytest.mark.parametrize("mode", ["read-only", "stop", "missing"])
def test_the_watchdog_brings_back_a_registry_a_dead_worker_left(private_registry, settings, mode):
    settings.GC_LOCK_TIMEOUT = 1
    saved, job = _leave_in_maintenance(private_registry, mode)
    if mode == "read-only":
        with pytest.raises(RuntimeError, match="405"):
            push_oci_image(private_registry.url, unique("ro"), "v1")
    # The dead worker's lock, expiring.
    client = gc.redis_client()
    assert gc.gc_lock(client).acquire(blocking=False)
    assert gc.watchdog() == []  # the lock is still held: hands off
    time.sleep(1.5)

    done = gc.watchdog()

    assert len(done) == 2, done
    container = private_registry.container
    assert container.status == "running"
    assert engine.differences(engine.normalized(saved), engine.normalized(container.attrs)) == []
    assert engine.READONLY_ENV not in container.attrs["Config"]["Env"]
    push_oci_image(private_registry.url, unique("writable"), "v1")
    assert not client.exists(gc.LOCK_KEY)
    helpers = engine.connect().containers.list(all=True, filters={"label": engine.GC_HELPER_LABEL})
    assert helpers == []
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "died" in job.error
    record = RegistryMaintenance.objects.get(job=job)
    assert record.ended_at is not None and record.restored_by == "watchdog"
    assert AuditEntry.objects.filter(action="gc-watchdog-restored", outcome="succeeded").exists()
    assert gc.watchdog() == []  # nothing left to do
    client.close()


def test_a_second_request_gets_409_naming_the_queued_job(operator_client):
    first = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert first.status_code == 202, first.content
    second = operator_client.post("/api/v1/gc/", {}, content_type="application/json")
    assert second.status_code == 409
    body = second.json()
    assert body["job"]["id"] == first.json()["id"]
    assert f"job {first.json()['id']}" in body["detail"]


def test_a_job_no_worker_took_does_not_block_the_next_request(operator_client, settings):
    stale = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json").json()
    old = timezone.now() - dt.timedelta(seconds=settings.GC_QUEUE_TIMEOUT + 5)
    Job.objects.filter(pk=stale["id"]).update(created_at=old)

    fresh = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")

    assert fresh.status_code == 202, fresh.content
    expired = Job.objects.get(pk=stale["id"])
    assert expired.status == Job.Status.FAILED and "No worker took this job" in expired.error
    assert AuditEntry.objects.filter(action="gc-finished", outcome="failed", detail__contains="No worker").exists()
    # A task for the expired job that arrives late does nothing.
    assert jobs.claim(stale["id"]) is None
    assert jobs.claim(fresh.json()["id"]) is not None


def test_a_request_while_the_lock_is_held_gets_409(operator_client):
    client = gc.redis_client()
    lock = gc.gc_lock(client)
    assert lock.acquire(blocking=False)
    try:
        response = operator_client.post("/api/v1/gc/", {}, content_type="application/json")
    finally:
        lock.release()
        client.close()
    assert response.status_code == 409
    assert "already queued or running" in response.json()["detail"]


def test_the_api_refuses_delete_untagged_once_the_registry_is_known_to_be_2x(operator_client):
    cache.set(gc.VERSION_CACHE_KEY, "github.com/docker/distribution 2.8.2+ds1")
    response = operator_client.post("/api/v1/gc/", {"delete_untagged": True}, content_type="application/json")
    assert response.status_code == 409  # well-formed, but this registry's version cannot do it
    assert "multi-arch" in response.json()["delete_untagged"] and "multi-arch" in response.json()["detail"]
    assert not Job.objects.exists()


def test_the_v3_version_string_is_not_2x():
    assert not engine.is_v2("registry github.com/distribution/distribution/v3 v3.1.1")
    assert engine.is_v2("registry github.com/docker/distribution 2.8.2+ds1")
    assert engine.is_v2("github.com/docker/distribution v2.8.3")


def test_the_watchdog_makes_a_read_only_registry_without_a_record_writable(private_registry):
    client = engine.connect()
    before = engine.normalized(private_registry.container.attrs)
    engine.wait_running(engine.recreate(client, private_registry.container.attrs, extra_env=[engine.READONLY_ENV]))
    assert gc.wait_answering()
    with pytest.raises(RuntimeError, match="405"):
        push_oci_image(private_registry.url, unique("ro"), "v1")

    assert len(gc.watchdog()) == 1

    assert engine.differences(before, engine.normalized(private_registry.container.attrs)) == []
    push_oci_image(private_registry.url, unique("writable"), "v1")
    client.close()


def test_configuration_differences_name_environment_variables_without_their_values():
    before = {"Config": {"Env": ["REGISTRY_HTTP_SECRET=hunter2", "A=1"]}, "HostConfig": {}}
    after = {"Config": {"Env": ["REGISTRY_HTTP_SECRET=changed", "A=1"]}, "HostConfig": {}}
    diffs = engine.differences(engine.normalized(before), engine.normalized(after))
    assert diffs == ["Env: REGISTRY_HTTP_SECRET differ"]
    assert "hunter2" not in str(diffs)


def test_the_admin_hides_secrets_in_the_saved_configuration(superuser, client):
    record = RegistryMaintenance.objects.create(
        container_name="registry",
        mode="stop",
        attrs={"Config": {"Env": ["REGISTRY_HTTP_SECRET=hunter2", "REGISTRY_STORAGE_DELETE_ENABLED=true"]}},
    )
    client.force_login(superuser)
    text = client.get(f"/admin/maintenance/registrymaintenance/{record.pk}/change/").content.decode()
    assert "REGISTRY_HTTP_SECRET=***" in text and "hunter2" not in text
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in text

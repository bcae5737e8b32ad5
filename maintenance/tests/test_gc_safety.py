from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from core import masking
from core.models import AuditEntry
from jobs import lock as locks
from jobs import runner as jobs
from jobs.models import Job
from maintenance import engine, gc, gc_requests, registry_container, snapshot
from maintenance.models import RegistryMaintenance
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import gc_job, unique
from testenv.images import push_oci_image

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("private_registry", ["v2"], indirect=True)
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


@BOTH_VERSIONS
def test_it_fails_when_the_gc_prints_no_summary_even_with_exit_0(private_registry, monkeypatch):
    # Both print their usage and exit 0 for a flag they do not know: 2.8 for --quiet (v3 only),
    # v3.1.1 for any unknown flag (seen here).
    flag = "--quiet" if private_registry.major == 2 else "--no-such-flag"
    monkeypatch.setattr(
        gc_requests.GcParams, "command", lambda self, config: ["registry", "garbage-collect", flag, config]
    )
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


@pytest.mark.database  # jobs and their claims
def test_a_second_job_does_not_run_while_the_lock_is_held(private_registry, monkeypatch):
    monkeypatch.setattr(gc, "LOCK_WAIT_SECONDS", 0.5)
    client = locks.redis_client()
    lock = locks.gc_lock(client)
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
        engine.wait_running(registry_container.recreate(client, saved, extra_env=[registry_container.READONLY_ENV]))
        assert gc.wait_answering()
    elif mode == "stop":
        engine.stop_container(container)
        registry_container.start_helper(client, saved, f"{private_registry.container_name}-gc-{job.pk}")
    else:  # killed between removing and recreating
        engine.remove_container(client, private_registry.container_name)
    client.close()
    return saved, job


@pytest.mark.database  # jobs and their claims
@pytest.mark.parametrize("mode", ["read-only", "stop", "missing"])
def test_the_watchdog_brings_back_a_registry_a_dead_worker_left(private_registry, settings, mode):
    settings.GC_LOCK_TIMEOUT = 1
    saved, job = _leave_in_maintenance(private_registry, mode)
    if mode == "read-only":
        with pytest.raises(RuntimeError, match="405"):
            push_oci_image(private_registry.url, unique("ro"), "v1")
    # The dead worker's lock, expiring.
    client = locks.redis_client()
    assert locks.gc_lock(client).acquire(blocking=False)
    assert gc.watchdog() == []  # the lock is still held: hands off
    time.sleep(1.5)

    done = gc.watchdog()

    assert len(done) == 2, done
    container = private_registry.container
    assert container.status == "running"
    assert (
        registry_container.differences(
            registry_container.normalized(saved), registry_container.normalized(container.attrs)
        )
        == []
    )
    assert registry_container.READONLY_ENV not in container.attrs["Config"]["Env"]
    push_oci_image(private_registry.url, unique("writable"), "v1")
    assert not client.exists(locks.LOCK_KEY)
    helpers = engine.connect().containers.list(all=True, filters={"label": registry_container.GC_HELPER_LABEL})
    assert helpers == []
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "died" in job.error
    record = RegistryMaintenance.objects.get(job=job)
    assert record.ended_at is not None and record.restored_by == "watchdog"
    assert AuditEntry.objects.filter(action="gc-watchdog-restored", outcome="succeeded").exists()
    assert gc.watchdog() == []  # nothing left to do
    client.close()


@pytest.mark.database  # jobs and their claims
def test_a_second_request_gets_409_naming_the_queued_job(operator_client):
    first = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert first.status_code == 202, first.content
    second = operator_client.post("/api/v1/gc/", {}, content_type="application/json")
    assert second.status_code == 409
    body = second.json()
    assert body["job"]["id"] == first.json()["id"]
    assert f"job {first.json()['id']}" in body["detail"]


@pytest.mark.database  # jobs and their claims
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


@pytest.mark.database  # jobs and their claims
def test_a_request_while_the_lock_is_held_gets_409(operator_client):
    client = locks.redis_client()
    lock = locks.gc_lock(client)
    assert lock.acquire(blocking=False)
    try:
        response = operator_client.post("/api/v1/gc/", {}, content_type="application/json")
    finally:
        lock.release()
        client.close()
    assert response.status_code == 409
    assert "already queued or running" in response.json()["detail"]


@pytest.mark.database  # jobs and their claims
@BOTH_VERSIONS
def test_the_api_refuses_delete_untagged_once_the_registry_is_known_to_be_2x(operator_client, private_registry):
    # The version as the registry itself prints it (`registry --version` in its container).
    code, version = private_registry.exec("registry", "--version")
    assert code == 0
    cache.set(snapshot.VERSION_CACHE_KEY, version.strip())
    response = operator_client.post("/api/v1/gc/", {"delete_untagged": True}, content_type="application/json")
    if private_registry.major == 3:
        assert response.status_code == 202, response.content
        assert Job.objects.get().params["delete_untagged"] is True
        return
    assert response.status_code == 409  # well-formed, but this registry's version cannot do it
    assert "multi-arch" in response.json()["delete_untagged"] and "multi-arch" in response.json()["detail"]
    assert not Job.objects.exists()


def test_the_v3_version_string_is_not_2x():
    assert not snapshot.is_v2("registry github.com/distribution/distribution/v3 v3.1.1")
    assert snapshot.is_v2("registry github.com/docker/distribution 2.8.2+ds1")
    assert snapshot.is_v2("github.com/docker/distribution v2.8.3")


def test_the_watchdog_makes_a_read_only_registry_without_a_record_writable(private_registry):
    client = engine.connect()
    before = registry_container.normalized(private_registry.container.attrs)
    engine.wait_running(
        registry_container.recreate(
            client, private_registry.container.attrs, extra_env=[registry_container.READONLY_ENV]
        )
    )
    assert gc.wait_answering()
    with pytest.raises(RuntimeError, match="405"):
        push_oci_image(private_registry.url, unique("ro"), "v1")

    assert len(gc.watchdog()) == 1

    assert registry_container.differences(before, registry_container.normalized(private_registry.container.attrs)) == []
    push_oci_image(private_registry.url, unique("writable"), "v1")
    client.close()


def test_configuration_differences_name_environment_variables_without_their_values():
    before = {"Config": {"Env": ["REGISTRY_HTTP_SECRET=hunter2", "A=1"]}, "HostConfig": {}}
    after = {"Config": {"Env": ["REGISTRY_HTTP_SECRET=changed", "A=1"]}, "HostConfig": {}}
    diffs = registry_container.differences(registry_container.normalized(before), registry_container.normalized(after))
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
    assert f"REGISTRY_HTTP_SECRET={masking.MASK}" in text and "hunter2" not in text
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in text


def _manifest_layers(registry, repo, ref):
    import requests

    from testenv.images import ACCEPT_ALL

    response = requests.get(f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL}, timeout=10)
    response.raise_for_status()
    return [layer["digest"] for layer in response.json()["layers"]]


@BOTH_VERSIONS
def test_delete_untagged_frees_untagged_manifests_and_keeps_an_indexs_children_on_v3(private_registry):
    """v3 (PR #4285) keeps the platforms of a tagged index; 2.8's own --delete-untagged deletes
    them (distribution#3178), which is why the dashboard refuses it there."""
    import requests

    from maintenance.tests.gc_helpers import blob_path
    from testenv.images import OCI_MANIFEST, manifest_digest, push_oci_index

    repo = unique("untagged")
    index, children = push_oci_index(private_registry.url, repo, "multi")
    child_layers = {digest: _manifest_layers(private_registry, repo, digest) for digest in children.values()}
    old = push_oci_image(private_registry.url, repo, "old")
    old_layers = _manifest_layers(private_registry, repo, old)
    push_oci_image(private_registry.url, repo, "old", labels={"rebuilt": "yes"})  # "old" moves: the first is untagged

    if private_registry.major == 3:
        job = gc_job(delete_untagged=True, mode="read-only")
        gc.run(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error + job.output
        assert "--delete-untagged" in job.output
    else:
        code, output = private_registry.garbage_collect("--delete-untagged")
        assert code == 0, output
        private_registry.restart()

    assert manifest_digest(private_registry.url, repo, "multi") == index
    assert manifest_digest(private_registry.url, repo, old) is None  # the untagged manifest went
    assert not any(blob_path(private_registry, layer).exists() for layer in old_layers)
    kept = {
        digest: requests.head(
            f"{private_registry.url}/v2/{repo}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}, timeout=10
        ).status_code
        for digest in children.values()
    }
    if private_registry.major == 3:
        assert set(kept.values()) == {200}
        assert all(blob_path(private_registry, layer).exists() for layers in child_layers.values() for layer in layers)
    else:
        assert set(kept.values()) == {404}  # the index now points at nothing: never offered on 2.x

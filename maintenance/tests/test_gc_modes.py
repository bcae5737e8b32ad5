from __future__ import annotations

import contextlib
import re
import threading
import time

import docker
import pytest
import redis as redis_lib
import requests
from docker.types import LogConfig

from jobs.models import Job
from maintenance import engine, gc, registry_container
from maintenance.models import RegistryMaintenance
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import blob_path, delete_image, gc_job, manifest_blobs, unique
from testenv._sys import free_port
from testenv.images import pull_image, push_docker_image, push_oci_image
from testenv.registry_image import DEFAULT_IMAGE
from testenv.services import start_registry

pytestmark = pytest.mark.django_db


@BOTH_VERSIONS
@pytest.mark.parametrize("mode", ["read-only", "stop", "online"])
def test_it_frees_a_deleted_images_blobs_and_keeps_the_configuration(services, private_registry, mode):
    repo, kept_repo = unique("freed"), unique("kept")
    digest = push_docker_image(services.engine, private_registry.url, repo, "v1", keep_local=False)
    kept = push_docker_image(services.engine, private_registry.url, kept_repo, "v1", keep_local=False)
    freed_blobs = manifest_blobs(private_registry, repo, digest)
    kept_blobs = manifest_blobs(private_registry, kept_repo, kept)
    delete_image(private_registry, repo, digest)
    before = registry_container.normalized(private_registry.container.attrs)
    blobs_root = private_registry.data_dir / "docker/registry/v2/blobs/sha256"
    sizes = {f"sha256:{data.parent.name}": data.stat().st_size for data in blobs_root.glob("*/*/data")}

    job = gc_job(mode=mode)
    gc.run(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    for digest_ in freed_blobs[1:]:
        assert not blob_path(private_registry, digest_).exists()
    for digest_ in kept_blobs[1:]:
        assert blob_path(private_registry, digest_).exists()
    assert registry_container.differences(before, registry_container.normalized(private_registry.container.attrs)) == []
    assert private_registry.container.status == "running"
    assert job.result["blobs_eligible"] >= 2
    assert job.result["bytes_freed"] > 0
    # Freed: the bytes of the very blobs it counts (issue 25: "Freed 0 bytes (2 blobs)").
    swept = set(gc.ELIGIBLE_BLOB.findall(job.output))
    assert len(swept) == job.result["blobs_eligible"] and set(freed_blobs[1:]) <= swept
    assert job.result["bytes_freed"] == sum(sizes[digest_] for digest_ in swept)
    assert job.result["bytes_after"] < job.result["bytes_before"]
    key = "read_only_seconds" if mode == "read-only" else "downtime_seconds"
    assert job.result[key] > 0
    assert requests.get(f"{private_registry.url}/v2/{kept_repo}/manifests/v1", timeout=5).status_code in (200, 404)
    assert not RegistryMaintenance.objects.filter(ended_at__isnull=True).exists()
    # Still writable afterwards.
    push_oci_image(private_registry.url, unique("after"), "v1")


@BOTH_VERSIONS
def test_the_mark_phase_is_kept_to_its_first_lines_and_counted(services, private_registry, monkeypatch):
    """Issue 28: at 10,000 repositories the mark phase printed megabytes into the job's output."""
    for _ in range(2):
        push_docker_image(services.engine, private_registry.url, unique("marked"), "v1", keep_local=False)
    monkeypatch.setattr(gc, "MARKING_LINES_KEPT", 2)
    monkeypatch.setattr(gc, "REPOSITORY_LINES_KEPT", 1)

    job = gc_job(mode="online", dry_run=True)
    gc.run(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    kept = [line for line in job.output.splitlines() if gc.MARKING.search(line)]
    assert len(kept) == 2, job.output
    more = re.search(r"\.\.\. and (\d+) more 'marking' lines, not kept here: the first 2 of (\d+)", job.output)
    assert more is not None, job.output
    assert int(more[2]) == int(more[1]) + 2 and int(more[1]) >= 4  # two images: manifest, config, layers each
    assert gc.SUMMARY.search(job.output), job.output
    # The line naming each repository it enters: the first kept, the others counted (issue 28).
    names = [line for line in job.output.splitlines() if gc.REPOSITORY_LINE.match(line)]
    assert len(names) == 1, job.output
    repositories = re.search(r"\.\.\. and (\d+) more repository names, not kept here: .* through (\d+) ", job.output)
    assert repositories is not None, job.output
    assert int(repositories[2]) == int(repositories[1]) + 1 >= 2


@pytest.mark.parametrize("private_registry", ["v3"], indirect=True)  # the count runs on registry:3 only
def test_the_untagged_count_is_stopped_after_its_time(services, private_registry, monkeypatch):
    """Issue 28: the count of untagged manifests is a second mark phase over every repository; at
    10,000 it would double a dry run. Past UNTAGGED_COUNT_SECONDS the process in the registry's
    container is stopped and the job says so. (A 30 s sleep stands in for a slow mark phase.)"""
    push_docker_image(services.engine, private_registry.url, unique("slow"), "v1", keep_local=False)
    container = private_registry.container
    config = registry_container.config_path(container)
    monkeypatch.setattr(gc.GcParams, "command", lambda self, config: ["sleep", "30"])
    monkeypatch.setattr(gc, "UNTAGGED_COUNT_SECONDS", 2)
    job = gc_job(mode="online", dry_run=True)
    collection = gc.GarbageCollection(job)

    started = time.monotonic()
    collection._untagged(container, config, registry_container.data_root(container, config))

    assert time.monotonic() - started < 20
    assert "untagged" not in collection.result
    job.refresh_from_db()
    assert "Untagged manifests: not counted" in job.output and "stopped after 2 s" in job.output, job.output
    processes = engine.exec_output(container, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])
    assert "sleep 30" not in processes, processes


@BOTH_VERSIONS
def test_the_re_push_after_gc_is_whole(services, private_registry):
    repo = unique("repush")
    ref = f"{private_registry.host_port}/{repo}"
    digest = push_docker_image(services.engine, private_registry.url, repo, "v1", keep_local=True)
    delete_image(private_registry, repo, digest)

    job = gc_job(mode="read-only")
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output

    client = services.engine.client()
    push_log = list(client.images.push(ref, tag="v1", stream=True, decode=True))
    assert not [m for m in push_log if "error" in m], push_log
    client.images.remove(f"{ref}:v1", force=True)
    client.images.pull(ref, tag="v1")
    for digest_ in manifest_blobs(private_registry, repo, "v1")[1:]:
        assert blob_path(private_registry, digest_).exists()
    client.images.remove(f"{ref}:v1", force=True)


def test_every_push_accepted_during_a_read_only_gc_is_whole(services, private_registry):
    # Something to collect, so the GC takes a moment.
    for _ in range(3):
        digest = push_docker_image(
            services.engine, private_registry.url, (old := unique("old")), "v1", keep_local=False
        )
        delete_image(private_registry, old, digest)
    accepted: list[tuple[str, str]] = []
    refused: list[str] = []
    done = threading.Event()

    def keep_pushing() -> None:
        while not done.is_set():
            repo = unique("during")
            try:
                digest_ = push_oci_image(private_registry.url, repo, "v1")
            except (RuntimeError, requests.RequestException) as e:
                refused.append(str(e)[:80])
            else:
                accepted.append((repo, digest_))

    pusher = threading.Thread(target=keep_pushing)
    pusher.start()
    try:
        job = gc_job(mode="read-only")
        gc.run(job.pk)
    finally:
        done.set()
        pusher.join(60)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert refused, "some pushes should have met the read-only registry"
    for repo, _digest in accepted:
        for digest_ in manifest_blobs(private_registry, repo, "v1")[1:]:
            assert blob_path(private_registry, digest_).exists(), (repo, digest_)


def _redis_cache_env(port: str, variant: str) -> dict[str, str]:
    """The registry's Redis cache settings: as docker-compose.yml sets them (both versions'
    variables, each version reads its own), or only v3's ``redis.options``."""
    v3 = {"REGISTRY_REDIS_OPTIONS_ADDRS": f"[127.0.0.1:{port}]", "REGISTRY_REDIS_OPTIONS_DB": "7"}
    v2 = {"REGISTRY_REDIS_ADDR": f"127.0.0.1:{port}", "REGISTRY_REDIS_DB": "7"}
    chosen = v3 if variant == "options-only" else {**v2, **v3}
    return {"REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR": "redis", **chosen}


@pytest.mark.parametrize(
    ("major", "variant"), [(3, "compose"), (3, "options-only"), (2, "compose")], ids=["v3", "v3-options-only", "v2"]
)
def test_it_clears_the_registrys_redis_cache(services, redis_url, major, variant):
    from django.conf import settings

    if major not in services.engine.registry_images:
        pytest.skip(services.v3_missing or "no such registry image")
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    name = unique("gcredis")
    registry = start_registry(
        services.engine, name=name, env=_redis_cache_env(port, variant), image=services.engine.registry_images[major]
    )
    old = (settings.REGISTRY_CONTAINER, settings.REGISTRY_URL)
    settings.REGISTRY_CONTAINER, settings.REGISTRY_URL = name, registry.url
    cache_db = redis_lib.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/7")
    try:
        if major == 3:
            assert "using redis blob descriptor cache" in registry.logs(200)
        repo = unique("cached")
        digest = push_docker_image(services.engine, registry.url, repo, "v1", keep_local=False)
        assert list(cache_db.scan_iter("blobs::*"))
        assert list(cache_db.scan_iter(f"repository::{repo}::blobs*"))
        delete_image(registry, repo, digest)
        job = gc_job(mode="stop")
        gc.run(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error + job.output
        assert job.result["redis_keys_deleted"] > 0
        assert not [k for k in cache_db.scan_iter("*") if k.startswith((b"blobs::", b"repository::"))]
        # The re-push after GC uploads its layers again and pulls whole (no stale cache entry).
        again = push_docker_image(services.engine, registry.url, repo, "v1", keep_local=False)
        pull_image(services.engine, f"{registry.host_port}/{repo}@{again}")
    finally:
        settings.REGISTRY_CONTAINER, settings.REGISTRY_URL = old
        cache_db.flushdb()
        cache_db.close()
        registry.remove()


def test_an_anonymous_data_volume_survives_the_recreate(services, settings):
    name = unique("anon")
    client = services.engine.client()
    port = free_port()
    container = client.containers.run(
        DEFAULT_IMAGE,
        detach=True,
        name=name,
        network_mode="host",
        environment={"REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}", "REGISTRY_STORAGE_DELETE_ENABLED": "true"},
    )
    settings.REGISTRY_CONTAINER, settings.REGISTRY_URL = name, f"http://127.0.0.1:{port}"
    try:
        volume = next(m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume")
        engine.wait_running(container)
        job = gc_job(mode="read-only")
        gc.run(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error + job.output
        after = client.containers.get(name)
        assert [m["Name"] for m in after.attrs["Mounts"] if m["Type"] == "volume"] == [volume]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True, v=True)


@pytest.mark.parametrize("mode", ["read-only", "stop"])
def test_limits_labels_logging_restart_policy_and_command_come_back_identical(services, settings, mode):
    name = unique("limits")
    client = services.engine.client()
    port = free_port()
    data = services.workdir / f"reg-{name}"
    data.mkdir()
    container = client.containers.run(
        DEFAULT_IMAGE,
        ["/etc/distribution/config.yml"],
        detach=True,
        name=name,
        network_mode="host",
        environment={"REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}", "REGISTRY_STORAGE_DELETE_ENABLED": "true"},
        volumes={str(data): {"bind": "/var/lib/registry", "mode": "rw"}},
        labels={"com.example.owner": "nas", "purpose": "registry"},
        mem_limit="512m",
        memswap_limit="768m",
        nano_cpus=1_500_000_000,
        pids_limit=200,
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
        log_config=LogConfig(type="json-file", config={"max-size": "5m", "max-file": "2"}),
        entrypoint=["/entrypoint.sh"],
    )
    settings.REGISTRY_CONTAINER, settings.REGISTRY_URL = name, f"http://127.0.0.1:{port}"
    try:
        engine.wait_running(container)
        assert gc.wait_answering()
        push_oci_image(settings.REGISTRY_URL, unique("x"), "v1")
        before = client.containers.get(name).attrs
        job = gc_job(mode=mode)
        gc.run(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error + job.output
        after = client.containers.get(name).attrs
        assert (
            registry_container.differences(registry_container.normalized(before), registry_container.normalized(after))
            == []
        )
        host = after["HostConfig"]
        assert (host["Memory"], host["MemorySwap"], host["NanoCpus"], host["PidsLimit"]) == (
            512 * 2**20,
            768 * 2**20,
            1_500_000_000,
            200,
        )
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "5m", "max-file": "2"}}
        assert after["Config"]["Labels"] == {"com.example.owner": "nas", "purpose": "registry"}
        assert after["Config"]["Cmd"] == ["/etc/distribution/config.yml"]
        assert after["Config"]["Entrypoint"] == ["/entrypoint.sh"]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True)


def test_it_fails_loudly_when_the_registry_comes_back_different(services, private_registry, monkeypatch):
    push_oci_image(private_registry.url, unique("loud"), "v1")
    original_create_config = registry_container.create_config

    def losing_a_label(attrs, *, extra_env=None):
        config = original_create_config(attrs, extra_env=extra_env)
        if not extra_env:  # the restore: lose the memory limits on the way back
            config["HostConfig"]["Memory"] = config["HostConfig"]["MemorySwap"] = 0
        return config

    monkeypatch.setattr(registry_container, "create_config", losing_a_label)
    job = gc_job(mode="read-only")
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "came back with a different configuration" in job.error
    assert "HostConfig.Memory" in job.error
    # The saved configuration stays open: the watchdog will retry the restore.
    assert RegistryMaintenance.objects.filter(job=job, ended_at__isnull=True).exists()
    monkeypatch.undo()
    assert len(gc.watchdog()) == 1
    assert private_registry.container.attrs["HostConfig"]["Memory"] == 2**30

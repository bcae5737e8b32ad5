"""A statistics job measures the real registry container, its data root and its content."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
from django.test import Client

from jobs.models import Job
from maintenance import engine, stats, stats_collector
from maintenance.models import StatsSample
from testenv.images import push_oci_image, tag_existing


def _wait_for_job(job_id: int, timeout: float = 90) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if not job.is_active:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).status} after {timeout}s")


def _host_du_bytes(path: object) -> int:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) * 1024


@pytest.mark.django_db(transaction=True)
def test_it_stores_a_sample_with_memory_and_the_bytes_the_data_root_holds(
    operator_client: Client, private_registry: object, celery_worker: object
) -> None:
    # A registry of its own: the data root then holds only what this test knows of.
    registry = private_registry
    repo = f"stats-collect-{uuid.uuid4().hex[:8]}"
    push_oci_image(registry.url, repo, "v1", layer_count=2)  # type: ignore[attr-defined]

    response = operator_client.post("/api/v1/stats/collect/")
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "stats"
    job = _wait_for_job(response.json()["id"])

    assert job.status == Job.Status.SUCCEEDED, (job.error, job.output)
    sample = StatsSample.objects.get()
    assert sample.memory_bytes and sample.memory_bytes > 0
    assert sample.memory_limit_bytes == 1024**3  # the test registry runs with --memory=1g
    assert sample.pids and sample.pids >= 1
    assert sample.cpu_percent is not None and sample.cpu_percent >= 0
    assert sample.storage_bytes == _host_du_bytes(registry.data_dir)  # type: ignore[attr-defined]
    blobs = registry.data_dir / "docker/registry/v2/blobs"  # type: ignore[attr-defined]
    assert sample.blob_count == sum(1 for p in blobs.rglob("data") if p.is_file())
    assert sample.repository_count == 1
    assert sample.tag_count == 1
    assert {"name": repo, "tags": 1} in [{k: r[k] for k in ("name", "tags")} for r in sample.largest_repositories]
    assert "storage:" in job.output and "stats: cpu" in job.output
    assert job.result["storage_bytes"] == sample.storage_bytes
    # The test registry runs with --network host: docker counts no traffic for it, and the page
    # says so instead of "received 0 bytes" (issue 25).
    assert sample.net_rx_bytes is None and sample.net_tx_bytes is None
    network = dict(stats.describe(sample))["Network"]
    assert network.startswith("not measured: the container uses the host's network") and "0 bytes" not in network


@pytest.mark.django_db
def test_it_counts_shared_layers_once_in_unique_bytes(services: object) -> None:
    from registry_client.client import get_client

    url = services.registry_url  # type: ignore[attr-defined]
    repo = f"stats-dedup-{uuid.uuid4().hex[:8]}"
    digest = push_oci_image(url, repo, "a", layers=[b"layer one" * 1000, b"layer two" * 1000])
    tag_existing(url, repo, "b", digest)
    before = stats_collector.content_summary()
    mine = next(r for r in before.repositories if r["name"] == repo)

    assert mine["tags"] == 2
    # Two tags on one manifest: the per-tag total counts its blobs twice, the unique count once.
    manifest = get_client().get_manifest(repo, digest).body
    size = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    assert mine["unique_bytes"] == size
    assert before.total_bytes - before.unique_bytes >= size


def test_it_computes_cpu_and_memory_as_the_docker_cli_does() -> None:
    raw = {
        "cpu_stats": {"cpu_usage": {"total_usage": 400_000_000}, "system_cpu_usage": 20_000_000_000, "online_cpus": 4},
        "precpu_stats": {"cpu_usage": {"total_usage": 200_000_000}, "system_cpu_usage": 18_000_000_000},
        "memory_stats": {"usage": 100_000_000, "limit": 1_073_741_824, "stats": {"inactive_file": 30_000_000}},
        "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}, "eth1": {"rx_bytes": 1, "tx_bytes": 2}},
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "read", "value": 4096},
                {"major": 8, "minor": 0, "op": "write", "value": 8192},
                {"major": 8, "minor": 16, "op": "Read", "value": 1},
            ]
        },
        "pids_stats": {"current": 7},
    }
    usage = engine.usage_from_stats(raw)
    assert usage.cpu_percent == pytest.approx(200_000_000 / 2_000_000_000 * 4 * 100)  # 40 %
    assert usage.memory_bytes == 70_000_000  # cgroup v2: usage - inactive_file
    assert usage.net_rx_bytes == 11 and usage.net_tx_bytes == 22
    assert usage.block_read_bytes == 4097 and usage.block_write_bytes == 8192
    assert usage.pids == 7

    host_network = {key: value for key, value in raw.items() if key != "networks"}
    assert engine.usage_from_stats(host_network).net_rx_bytes is None  # not 0: nothing was counted

    v1 = {**raw, "memory_stats": {"usage": 100, "limit": 1, "stats": {"total_inactive_file": 40, "inactive_file": 5}}}
    assert engine.usage_from_stats(v1).memory_bytes == 60  # cgroup v1: usage - total_inactive_file


def test_it_reports_zero_cpu_unless_both_deltas_are_positive() -> None:
    same = {"cpu_usage": {"total_usage": 5, "percpu_usage": [1, 2]}, "system_cpu_usage": 10}
    assert engine.usage_from_stats({"cpu_stats": same, "precpu_stats": same}).cpu_percent == 0.0
    busy_but_no_system_delta = {"cpu_stats": {**same, "cpu_usage": {"total_usage": 9}}, "precpu_stats": same}
    assert engine.usage_from_stats(busy_but_no_system_delta).cpu_percent == 0.0
    # online_cpus missing: the CLI counts percpu_usage entries instead.
    moving = {"cpu_stats": {"cpu_usage": {"total_usage": 15, "percpu_usage": [1, 2]}, "system_cpu_usage": 110}}
    assert engine.usage_from_stats({**moving, "precpu_stats": same}).cpu_percent == pytest.approx(10 / 100 * 2 * 100)


@pytest.mark.django_db
def test_a_scheduled_sample_walks_the_data_root_again_only_when_something_may_have_changed_it(
    private_registry: object, settings: object
) -> None:
    """At 10,000 repositories the walk (du and a blob count) takes 18-90 s every 5 minutes: a
    scheduled sample reuses it while the events say nothing but pulls happened (issue 28)."""
    from django.utils import timezone

    from inventory import sync
    from inventory.models import Event, EventsState

    registry = private_registry
    repo = f"stats-walk-{uuid.uuid4().hex[:8]}"
    push_oci_image(registry.url, repo, "v1", layer_count=1)  # type: ignore[attr-defined]
    sync.reconcile()
    settings.REGISTRY_EVENTS_TOKEN = "t"  # type: ignore[attr-defined]
    EventsState.objects.update_or_create(pk=1, defaults={"tracking_since": timezone.now()})  # as the applier does
    walked = stats_collector.collect(reuse_walk=True)  # nothing walked before: it walks
    assert walked.storage_bytes == _host_du_bytes(registry.data_dir)  # type: ignore[attr-defined]

    # A file the registry did not write (no event): the schedule keeps the last walk's figures.
    (registry.data_dir / "stray").write_bytes(b"x" * 300_000)  # type: ignore[attr-defined]
    Event.objects.create(event_id=uuid.uuid4().hex, timestamp=timezone.now(), action="pull", repository=repo)
    reused = stats_collector.collect(reuse_walk=True)
    assert (reused.storage_bytes, reused.blob_count) == (walked.storage_bytes, walked.blob_count)
    assert reused.storage_bytes != _host_du_bytes(registry.data_dir)  # type: ignore[attr-defined]
    # "Collect now" always walks.
    assert stats_collector.collect().storage_bytes == _host_du_bytes(registry.data_dir)  # type: ignore[attr-defined]

    # A push (its event) makes the next scheduled sample walk again.
    (registry.data_dir / "stray2").write_bytes(b"y" * 300_000)  # type: ignore[attr-defined]
    push_oci_image(registry.url, repo, "v2", layer_count=1)  # type: ignore[attr-defined]
    Event.objects.create(event_id=uuid.uuid4().hex, timestamp=timezone.now(), action="push", repository=repo, tag="v2")
    again = stats_collector.collect(reuse_walk=True)
    assert again.storage_bytes == _host_du_bytes(registry.data_dir)  # type: ignore[attr-defined]
    assert again.blob_count is not None and walked.blob_count is not None
    assert again.blob_count > walked.blob_count  # the new layer and config

    # So does a GC job.
    (registry.data_dir / "stray3").write_bytes(b"z" * 300_000)  # type: ignore[attr-defined]
    Job.objects.create(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, finished_at=timezone.now())
    assert stats_collector.collect(reuse_walk=True).storage_bytes == _host_du_bytes(registry.data_dir)  # type: ignore[attr-defined]

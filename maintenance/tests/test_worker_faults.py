"""Workers killed and Redis restarted for real, with the worker and beat as separate processes.

- A worker SIGKILLed mid-job: the job watchdog (run by beat) marks the job failed with the
  reason within JOB_HEARTBEAT_TIMEOUT plus one watchdog interval; it never stays "running".
- Redis stopped and started again: the same worker and beat reconnect by themselves and the
  next job runs, without restarting anything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.tests.faults import PrivateRedis, Stack, kill_group

HEARTBEAT_TIMEOUT = 5


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path / "redis")
    try:
        yield redis
    finally:
        redis.stop()


def test_a_job_whose_worker_is_killed_is_failed_with_the_reason(
    services: Any, private_redis: PrivateRedis, silent_registry: str, tmp_path: Path
) -> None:
    stack = Stack(
        tmp_path / "stack",
        private_redis.url,
        REGISTRY_URL=silent_registry,
        REGISTRY_TIMEOUT="120",
        DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
        JOB_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
        JOB_WATCHDOG_INTERVAL="5",
    )
    try:
        worker = stack.start_worker()
        job_id = stack.enqueue_stats()
        running = stack.wait_for(job_id, "running", timeout=60)
        assert running["heartbeat_at"]
        time.sleep(1)  # the job is waiting for the registry's answer
        kill_group(worker)
        killed_at = time.monotonic()
        assert stack.job(job_id)["status"] == "running"

        stack.start_beat()
        # The watchdog runs on whatever worker is up; two processes, as compose runs, since the
        # inventory's sync that beat also sends waits on the silent registry meanwhile.
        stack.start_worker(name="worker2", concurrency=2)
        failed = stack.wait_for(job_id, "failed", timeout=HEARTBEAT_TIMEOUT + 60)
        took = time.monotonic() - killed_at
    finally:
        stack.stop()
    assert "worker running this job stopped" in failed["error"] and "JOB_HEARTBEAT_TIMEOUT" in failed["error"]
    assert failed["finished_at"] and took >= HEARTBEAT_TIMEOUT - 1
    assert "ERROR: The worker running this job stopped" in failed["output"]


def test_worker_and_beat_reconnect_when_redis_comes_back(
    services: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    stack = Stack(tmp_path / "stack", private_redis.url, ENGINE_HEALTH_INTERVAL="5")
    health = "from maintenance import snapshot; h = snapshot.recorded_engine_health(); print(h and h['checked_at'])"
    try:
        stack.start_worker()
        stack.start_beat()
        first = stack.enqueue_stats()
        assert stack.wait_for(first, "succeeded", "failed", "warning", timeout=90)["status"] == "succeeded"

        private_redis.stop()
        time.sleep(8)  # worker and beat notice the broker is gone and start retrying
        private_redis.start()  # same port, empty (no persistence): every key and queue is gone
        back = time.time()

        second = stack.enqueue_stats()
        row = stack.wait_for(second, "succeeded", "failed", "warning", timeout=90)
        assert row["status"] == "succeeded", (row, stack.log("worker")[-3000:])

        # Beat sent check_engine again on its own and the worker answered into the new Redis.
        deadline = time.monotonic() + 60
        checked = ""
        while time.monotonic() < deadline:
            checked = stack.run_python(health).strip()
            if checked not in ("", "None") and float(checked) >= back:
                break
            time.sleep(2)
        assert checked not in ("", "None") and float(checked) >= back, stack.log("beat")[-3000:]
    finally:
        stack.stop()
    assert all(p.returncode is not None for p in stack.processes)


def test_a_gc_whose_worker_is_killed_mid_run_is_failed_and_the_registry_restored(
    services: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    from maintenance import registry_container
    from testenv import images
    from testenv.services import start_registry

    registry = start_registry(services.engine, name=f"killgc-{uuid.uuid4().hex[:6]}")
    images.push_oci_image(registry.url, "team/app", "1")
    stack = Stack(
        tmp_path / "stack",
        private_redis.url,
        REGISTRY_URL=registry.url,
        REGISTRY_CONTAINER=registry.container_name,
        JOB_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
        JOB_WATCHDOG_INTERVAL="5",
        GC_LOCK_TIMEOUT="10",
        GC_WATCHDOG_INTERVAL="10",
    )
    try:
        worker = stack.start_worker()
        job_id = stack.enqueue_gc(mode="read-only", dry_run=False)
        deadline = time.monotonic() + 60
        while "Saved the container's configuration" not in (stack.job(job_id).get("output") or ""):
            assert time.monotonic() < deadline, stack.job(job_id)
            time.sleep(0.05)
        kill_group(worker)  # between saving the configuration and restoring it

        stack.start_beat()
        stack.start_worker(name="worker2")
        failed = stack.wait_for(job_id, "failed", timeout=90)
        assert "stopped" in failed["error"] or "died" in failed["error"], failed["error"]

        deadline = time.monotonic() + 60  # the GC watchdog restores once the dead run's lock expired
        restored = None
        while time.monotonic() < deadline:
            rows = stack.run_python(
                "from maintenance.models import RegistryMaintenance as R\n"
                "print(R.objects.filter(ended_at__isnull=True).count(), R.objects.count())"
            ).split()
            if rows == ["0", "1"]:
                restored = True
                break
            time.sleep(2)
        assert restored, stack.log("worker2")[-3000:]
        held = stack.run_python("from jobs import lock; print(lock.gc_lock_held())").strip()
    finally:
        stack.stop()
    try:
        container = registry.container  # looked up by name: the watchdog may have recreated it
        assert container.status == "running"
        assert registry_container.READONLY_ENV not in (container.attrs["Config"].get("Env") or [])
    finally:
        registry.remove()
    assert held == "False"

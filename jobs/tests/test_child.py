"""The sync job in a short-lived child process of make run's worker (jobs/child.py, issue 28),
against a real registry and a real worker: the same inventory as a sync in place, the time
limits enforced, a killed child's job failed, and the child gone with its worker."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.tests.faults import PrivateRedis, Stack, silent_stack

INVENTORY = (
    "import json\n"
    "from inventory.models import Repository, Tag\n"
    "print(json.dumps({'repositories': sorted(Repository.objects.values_list('name', 'size')),"
    " 'tags': sorted(Tag.objects.values_list('repository__name', 'name', 'digest', 'manifest__size'))}))"
)
QUEUE_SYNC = "from inventory import jobs\nprint(jobs.queue_sync(reason='test').pk)"


def _child_pid(stack: Stack, job_id: int, timeout: float = 60) -> int:
    """The child's process id, from the worker's log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(rf"job {job_id} runs in child process (\d+)", stack.log("worker"))
        if found:
            return int(found.group(1))
        time.sleep(0.2)
    raise AssertionError(stack.log("worker")[-3000:])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie not reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_sync_in_a_child_process_gives_the_same_inventory_as_one_in_place(
    services: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    from testenv import images
    from testenv.services import start_registry

    registry = start_registry(services.engine, name=f"child-{uuid.uuid4().hex[:6]}")
    try:
        for repository, tag in (("team/app", "1"), ("team/app", "2"), ("team/api", "1"), ("base", "latest")):
            images.push_oci_image(registry.url, repository, tag)
        env = {"REGISTRY_URL": registry.url, "INVENTORY_SYNC_ON_START": "false"}
        in_child = Stack(tmp_path / "child", private_redis.url, **env)
        try:
            worker = in_child.start_worker(concurrency=4, beat_thread=True)  # make run's worker
            job_id = int(in_child.run_python(QUEUE_SYNC).split()[-1])
            child = _child_pid(in_child, job_id)
            row = in_child.wait_for(job_id, "succeeded", "failed", "warning", timeout=120)
            assert row["status"] == "succeeded", (row["error"], in_child.log("worker")[-3000:])
            deadline = time.monotonic() + 10
            while f"child process {child} ended" not in in_child.log("worker") and time.monotonic() < deadline:
                time.sleep(0.2)
            assert f"child process {child} ended" in in_child.log("worker")
            assert not _alive(child) and child != worker.pid
            from_child = json.loads(in_child.run_python(INVENTORY))
        finally:
            in_child.stop()
        # The same sync in place: the job's runner called in a plain process (not a worker).
        in_place = Stack(tmp_path / "place", private_redis.url, **env)
        job = in_place.run_python(
            "from jobs.models import Job\nfrom inventory import jobs\n"
            "job = Job.objects.create(kind=Job.Kind.SYNC, params={'reason': 'test'})\n"
            "jobs.SyncJob.handle(job.pk)\njob.refresh_from_db()\nprint(job.status)"
        )
        assert job.split()[-1] == "succeeded", job
        assert json.loads(in_place.run_python(INVENTORY)) == from_child
        assert len(from_child["tags"]) == 4 and {name for name, _ in from_child["repositories"]} == {
            "team/app",
            "team/api",
            "base",
        }
    finally:
        registry.remove()


@pytest.mark.parametrize("limit", ["soft", "hard"])
def test_a_sync_past_its_time_limit_in_its_child_is_failed_and_the_child_ends(
    services: Any, private_redis: PrivateRedis, silent_registry: str, tmp_path: Path, limit: str
) -> None:
    """A registry that never answers: the child's alarm ends the job at the soft limit; at the
    hard limit the parent kills the child (blocked in a socket read) and fails the job."""
    stack = silent_stack(tmp_path / "stack", private_redis.url, silent_registry)
    limits = "soft_time_limit=2, time_limit=60" if limit == "soft" else "time_limit=5"
    code = (
        "from jobs.models import Job\nfrom inventory import task_names\nfrom registry_admin.celery import app\n"
        "job = Job.objects.create(kind=Job.Kind.SYNC, params={'reason': 'test'})\n"
        f"app.send_task(task_names.RUN_SYNC, args=[job.pk], {limits})\nprint(job.pk)"
    )
    try:
        stack.start_worker(concurrency=4, beat_thread=True)
        job_id = int(stack.run_python(code).split()[-1])
        child = _child_pid(stack, job_id)
        stack.wait_for(job_id, "running", timeout=60)
        started = time.monotonic()
        failed = stack.wait_for(job_id, "failed", "succeeded", timeout=60)
        took = time.monotonic() - started
        time.sleep(1)
        child_alive = _alive(child)
        log = stack.log("worker")
    finally:
        stack.stop()
    assert failed["status"] == "failed", failed
    if limit == "soft":
        assert "SoftTimeLimitExceeded" in failed["error"], failed["error"]
    else:
        assert "exceeded its hard time limit (5 s) and its process was killed" in failed["error"], failed["error"]
        assert f"child process {child} ended: it exceeded its hard time limit" in log, log[-3000:]
    assert took < 30  # long before the registry's 120 s timeout
    assert not child_alive


def test_a_child_killed_by_sigkill_fails_its_job_and_one_whose_worker_dies_dies_with_it(
    services: Any, private_redis: PrivateRedis, silent_registry: str, tmp_path: Path
) -> None:
    stack = silent_stack(tmp_path / "stack", private_redis.url, silent_registry)
    try:
        stack.start_worker(concurrency=4, beat_thread=True)
        first = int(stack.run_python(QUEUE_SYNC).split()[-1])
        child = _child_pid(stack, first)
        stack.wait_for(first, "running", timeout=60)
        os.kill(child, signal.SIGKILL)  # the OOM killer's choice
        killed_at = time.monotonic()
        failed = stack.wait_for(first, "failed", "succeeded", timeout=30)
        took = time.monotonic() - killed_at
        assert failed["status"] == "failed", failed
        assert "killed by signal 9 (SIGKILL)" in failed["error"], failed["error"]
        assert "ERROR: The job stopped" in failed["output"]
        assert took < 5  # the parent saw it at once: no heartbeat timeout to wait for

        # The worker itself killed (not its group): its child goes with it (PR_SET_PDEATHSIG),
        # and the job watchdog of the next worker fails the job.
        second = int(stack.run_python(QUEUE_SYNC).split()[-1])
        orphan = _child_pid(stack, second)
        stack.wait_for(second, "running", timeout=60)
        worker = stack.processes[0]
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        deadline = time.monotonic() + 10
        while _alive(orphan) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(orphan)
        stack.start_worker(name="worker2", concurrency=4, beat_thread=True)
        failed = stack.wait_for(second, "failed", "succeeded", timeout=60)
    finally:
        stack.stop()
    assert failed["status"] == "failed" and "worker running this job stopped" in failed["error"], failed


@pytest.mark.django_db(transaction=True)
def test_no_fork_while_another_thread_holds_a_database_connection() -> None:
    """The quiet moment a fork waits for: a thread's open connection (its SQLite locks and the
    library's mutexes would be the child's) keeps it waiting until the thread closes it."""
    import threading

    from django.db import connection

    from jobs import child
    from jobs.models import Job

    opened, release = threading.Event(), threading.Event()

    def hold() -> None:
        Job.objects.count()  # opens this thread's connection
        opened.set()
        release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold, name="holder")
    holder.start()
    assert opened.wait(10)
    try:
        assert "thread holder holds a sqlite connection" in child.busy()
        started = time.monotonic()
        assert "thread holder holds a sqlite connection" in child._wait_until_quiet(0.3)
        assert time.monotonic() - started >= 0.3
    finally:
        release.set()
        holder.join(10)
    connection.close()
    # Only the holder's connection is this test's: other tests of the session may leave theirs.
    assert [reason for reason in child._wait_until_quiet(5) if "holder" in reason] == []

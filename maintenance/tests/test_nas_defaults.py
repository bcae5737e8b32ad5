"""The NAS-sized defaults (issue 28): what `make run` starts, what the web imports, time limits in
the worker's thread pool.

- scripts/run.sh starts one gunicorn worker, one Celery worker process (a pool of threads) and no
  separate beat: the scheduler runs as a thread of the worker and fires the schedules.
- The web process never imports the Docker SDK nor the worker's task modules.
- A GC past its time limit in the thread pool is ended with the reason (soft limit) or
  abandoned like a killed process (hard limit), and the registry is writable afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from core.tests.faults import PrivateRedis, Stack, gc_stack, silent_stack
from testenv import _sys

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listed:
            for child in map(int, listed.read().split()):
                found += [child, *_descendants(child)]
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# What the web process must not hold: the Docker SDK, the worker's tasks, and the sync machinery
# (the reconcile, the events' applier), which the web imports only on the rare paths that need
# it (a repository the inventory lacks, a delete, a preview the inventory cannot vouch for).
WORKER_ONLY = (
    "maintenance.tasks",
    "maintenance.engine",
    "maintenance.gc",
    "retention.tasks",
    "inventory.sync",
    "inventory.sync_files",
    "inventory.events",
)

_WALK = """
import logging, sys
from registry_admin.asgi import application  # as gunicorn serves it (scripts/run.sh)
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

def paths(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from paths(pattern.url_patterns, route)
        elif "<" not in route and "^" not in route and "(?P" not in route:
            yield "/" + route

logging.disable(logging.CRITICAL)
user = get_user_model().objects.create_superuser("walker", password="walker-password-not-secret")
client = Client(raise_request_exception=False)
assert client.get("/-/alive").status_code == 200
client.force_login(user)
walked = [p for p in sorted(set(paths(get_resolver().url_patterns))) if not p.startswith(("/admin/", "/accounts/"))]
answered = {p: client.get(p).status_code for p in walked}
assert answered["/"] == 200 and answered["/api/v1/sync/"] == 200 and answered["/catalog/"] == 200, answered
print(len(walked), file=sys.stderr)
print(" ".join(sorted(m for m in sys.modules if m == "docker" or m.startswith("docker.") or m in WORKER_ONLY)))
"""


def test_the_web_never_imports_the_docker_sdk_nor_the_worker_side(tmp_path: Path) -> None:
    """The WSGI app after a GET of every page and API path without parameters, logged in as an
    admin: no Docker SDK, no task module, no sync machinery."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_admin.settings",
        "DATA_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "imports-test",
        "REGISTRY_URL": f"http://127.0.0.1:{_sys.free_port()}",  # nothing answers: pages say so
        # Pages name their static files through the manifest, as in production: collected here, so
        # that a fresh clone (no staticfiles/ yet) answers them too.
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("DATABASE_URL", None)
    for command in (["migrate", "-v", "0"], ["collectstatic", "--noinput", "-v", "0"]):
        prepared = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert prepared.returncode == 0, prepared.stderr[-3000:]
    code = f"WORKER_ONLY = {WORKER_ONLY!r}\n{_WALK}"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stderr.strip().splitlines()[-1]) > 40  # every page and API list was asked for
    assert done.stdout.strip() == "", f"the web imported: {done.stdout}"


def test_make_run_starts_one_web_worker_and_one_celery_process_with_beat_inside(
    services: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    port = _sys.free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": private_redis.url,
        "REGISTRY_URL": services.registry_url,
        "DOCKER_HOST": services.docker_host,
        "REGISTRY_CONTAINER": services.registry_container,
        "ENGINE_HEALTH_INTERVAL": "5",
        "INVENTORY_SYNC_ON_START": "false",
    }
    for name in (
        "DATABASE_URL",
        "WEB_WORKERS",
        "CELERY_POOL",
        "CELERY_CONCURRENCY",
        "BEAT_IN_WORKER",
        "MALLOC_ARENA_MAX",
        "PYTHONMALLOC",
    ):
        env.pop(name, None)
    log = tmp_path / "run.log"
    with log.open("w") as out:
        run = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/-/alive", timeout=2).text == "ok":
                    break
            except requests.RequestException:
                pass
            assert run.poll() is None, log.read_text()[-3000:]
            time.sleep(1)
        # Beat, a thread of the worker, sends the engine check every 5 s, and the worker runs it.
        deadline = time.monotonic() + 90
        while "Sending due task record-engine-health" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        commands = [_cmdline(pid) for pid in _descendants(run.pid)]
        gunicorn = [c for c in commands if "gunicorn" in c]
        celery = [c for c in commands if "celery" in c]
        assert len(gunicorn) == 2, commands  # the master and one worker
        assert len(celery) == 1, commands  # the worker; beat and the pool are its threads
        assert "--pool threads" in celery[0] and "--beat-thread" in celery[0]
        # Every process of the dashboard starts with glibc's arenas limited (README, "Memory").
        for pid in _descendants(run.pid):
            if any(name in _cmdline(pid) for name in ("gunicorn", "celery")):
                environ = Path(f"/proc/{pid}/environ").read_bytes()
                assert b"MALLOC_ARENA_MAX=2\0" in environ, _cmdline(pid)
                # Python's small objects from malloc in the worker only; the web keeps pymalloc.
                worker = "celery" in _cmdline(pid)
                assert (b"PYTHONMALLOC=malloc\0" in environ) == worker, _cmdline(pid)
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(60)
        finally:
            for pid in _descendants(run.pid) if run.poll() is None else []:
                os.kill(pid, signal.SIGKILL)
    assert run.returncode == 0, log.read_text()[-3000:]


def _gc_with_limits(stack: Stack, soft: float | None, hard: float) -> int:
    """A real GC job sent with its own time limits (Celery's per-message limits override the task's)."""
    code = (
        "from maintenance import gc_requests\n"
        "from jobs.models import Job\n"
        "from registry_admin.celery import app\n"
        "params = gc_requests.GcParams.parse({'mode': 'read-only', 'dry_run': False})\n"
        "job = Job.objects.create(kind=Job.Kind.GC, params=params.as_dict())\n"
        f"app.send_task('maintenance.tasks.run_gc', args=[job.pk], soft_time_limit={soft!r}, time_limit={hard!r})\n"
        "print(job.pk)"
    )
    return int(stack.run_python(code).strip().splitlines()[-1])


@pytest.mark.parametrize("limit", ["soft", "hard"])
def test_a_gc_past_its_time_limit_in_the_thread_pool_is_failed_and_the_registry_writable(
    services: Any, private_redis: PrivateRedis, tmp_path: Path, limit: str
) -> None:
    from maintenance import registry_container
    from testenv import images

    registry, stack = gc_stack(
        services.engine,
        tmp_path / "stack",
        private_redis.url,
        "limitgc",
        JOB_HEARTBEAT_TIMEOUT="5",
        JOB_WATCHDOG_INTERVAL="5",
    )
    try:
        stack.start_worker(concurrency=4, beat_thread=True)  # make run's worker
        job_id = _gc_with_limits(stack, 1.0, 60.0) if limit == "soft" else _gc_with_limits(stack, None, 1.0)
        failed = stack.wait_for(job_id, "failed", "succeeded", timeout=120)
        assert failed["status"] == "failed", failed
        if limit == "soft":
            assert "exceeded its time limit" in failed["error"], failed["error"]
        else:
            assert "TimeLimitExceeded" in failed["error"] or "stopped" in failed["error"], failed["error"]
        assert "Hard" in stack.log("worker") or limit == "soft"
        # The registry is writable again (restored by the run's own finally, or the GC watchdog
        # once the abandoned lock expired), and nothing holds the GC lock.
        deadline = time.monotonic() + 90
        while True:
            rows = stack.run_python(
                "from maintenance.models import RegistryMaintenance as R\n"
                "from jobs import lock\n"
                "print(R.objects.filter(ended_at__isnull=True).count(), lock.gc_lock_held())"
            ).split()
            if rows == ["0", "False"]:
                break
            assert time.monotonic() < deadline, (rows, stack.log("worker")[-3000:])
            time.sleep(2)
    finally:
        stack.stop()
    try:
        container = registry.container
        assert container.status == "running"
        assert registry_container.READONLY_ENV not in (container.attrs["Config"].get("Env") or [])
        images.push_oci_image(registry.url, "team/app", "2")  # writable
    finally:
        registry.remove()


def test_the_registry_page_shows_the_dashboards_own_memory_beside_the_registrys(
    viewer_client: Any, celery_worker: object, services: Any
) -> None:
    """The web measures itself; a worker records its figures with the engine check it runs."""
    from django.core.cache import cache

    from core import memory
    from core.worker import ask_worker
    from maintenance import task_names

    cache.delete(memory.WORKER_KEY)
    before = viewer_client.get("/registry/").content.decode()
    assert 'data-testid="memory-web"' in before and "PSS" in before
    assert 'data-testid="memory-worker"' not in before and "not recorded yet" in before

    assert ask_worker(task_names.CHECK_ENGINE, wait=60).answered
    page = viewer_client.get("/registry/").content.decode()
    assert 'data-testid="memory-worker"' in page
    worker = memory.recorded_worker()
    assert worker is not None and worker.pss_bytes > 10 * 2**20 and worker.rss_bytes >= worker.pss_bytes


def test_a_gc_a_sync_and_a_retention_run_at_once_each_finish_or_are_refused_under_make_runs_worker(
    services: Any, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """The three asked for in the same moment on one thread-pool worker: the sync runs beside
    whichever of retention and GC came first; the other is refused as it is today; none stays
    queued or running, and the registry is writable afterwards."""
    from maintenance import registry_container
    from testenv import images
    from testenv.services import start_registry

    registry = start_registry(services.engine, name=f"atonce-{uuid.uuid4().hex[:6]}")
    for tag in ("1", "2", "3"):
        images.push_oci_image(registry.url, "team/app", tag)
    stack = Stack(
        tmp_path / "stack",
        private_redis.url,
        REGISTRY_URL=registry.url,
        REGISTRY_CONTAINER=registry.container_name,
        INVENTORY_SYNC_ON_START="false",
    )
    try:
        stack.start_worker(concurrency=4, beat_thread=True)  # make run's worker
        first = int(
            stack.run_python(
                "from inventory import jobs as sync_requests\nprint(sync_requests.queue_sync(reason='test').pk)"
            ).split()[-1]
        )
        assert stack.wait_for(first, "succeeded", "failed", "warning", timeout=120)["status"] == "succeeded"
        outcomes = stack.run_python(
            "from django.contrib.auth.models import User\n"
            "from inventory import jobs as sync_requests\n"
            "from maintenance import gc_requests\n"
            "from retention import requests\n"
            "from retention.models import RetentionPolicy\n"
            "user = User.objects.create_superuser('admin', 'a@localhost', 'x')\n"
            "policy = RetentionPolicy.objects.create(name='keep one', repositories=['team/*'], keep_last=1)\n"
            "def attempt(name, queue):\n"
            "    try:\n"
            "        print(name, 'queued', queue().pk)\n"
            "    except Exception as e:\n"
            "        print(name, 'refused', type(e).__name__)\n"
            "attempt('retention', lambda: requests.request_run(policy, user=user))\n"
            "attempt('sync', lambda: sync_requests.queue_sync(user=user))\n"
            "attempt('gc', lambda: gc_requests.request_gc("
            "gc_requests.GcParams.parse({'mode': 'read-only', 'dry_run': False}), user=user))\n"
        )
        results = {line.split()[0]: line.split()[1:] for line in outcomes.strip().splitlines()[-3:]}
        assert results["retention"][0] == "queued" and results["sync"][0] == "queued", outcomes
        assert results["gc"] == ["refused", "JobBusy"], outcomes  # as today
        for name in ("retention", "sync"):
            row = stack.wait_for(int(results[name][1]), "succeeded", "failed", "warning", timeout=180)
            assert row["status"] == "succeeded", (name, row["error"], stack.log("worker")[-3000:])
        # Once the run ended, the GC is accepted and runs on the same worker.
        gc_job = stack.enqueue_gc(mode="read-only", dry_run=False)
        row = stack.wait_for(gc_job, "succeeded", "failed", "warning", timeout=180)
        assert row["status"] == "succeeded", (row["error"], stack.log("worker")[-3000:])
    finally:
        stack.stop()
    try:
        assert registry_container.READONLY_ENV not in (registry.container.attrs["Config"].get("Env") or [])
        images.push_oci_image(registry.url, "team/app", "4")  # writable
    finally:
        registry.remove()


def test_a_job_stuck_past_its_hard_limit_in_the_thread_pool_is_failed_by_the_watchdog(
    services: Any, private_redis: PrivateRedis, silent_registry: str, tmp_path: Path
) -> None:
    """A thread blocked in C (a socket read from a registry that never answers) cannot be
    interrupted; past its hard limit its job stops beating, as a killed process's would, and
    the job watchdog fails it with that reason while the thread still waits."""
    stack = silent_stack(tmp_path / "stack", private_redis.url, silent_registry)
    code = (
        "from maintenance import task_names\n"
        "from jobs.models import Job\n"
        "from registry_admin.celery import app\n"
        "job = Job.objects.create(kind=Job.Kind.STATS, params={})\n"
        "app.send_task(task_names.COLLECT_STATS, args=[job.pk], time_limit=3)\n"
        "print(job.pk)"
    )
    try:
        stack.start_worker(concurrency=4, beat_thread=True)  # make run's worker
        job_id = int(stack.run_python(code).split()[-1])
        stack.wait_for(job_id, "running", timeout=60)
        started = time.monotonic()
        failed = stack.wait_for(job_id, "failed", "succeeded", timeout=60)
        took = time.monotonic() - started
        log = stack.log("worker")
    finally:
        stack.stop()
    assert failed["status"] == "failed", failed
    assert "worker running this job stopped" in failed["error"], failed["error"]
    assert "Hard time limit exceeded" in log, log[-3000:]
    assert took < 60  # long before the registry's 120 s timeout would have ended the wait

"""Real faults for the tests: a private Redis that can be stopped and started again on its port,
a server that accepts connections and never answers.

The session's shared Redis stays up; a test that needs Redis gone points the cache and
Celery's broker at one of these and stops it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testenv import _sys


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = _sys.free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start redis-server on this object's port (again, after ``stop``)."""
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.workdir), "--protected-mode", "no", "--unixsocket", "", "--logfile", ""]
        self.process = _sys.spawn(argv, self.workdir / "redis.log", death_signal=signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on {self.port} did not start: {_sys.tail(self.workdir / 'redis.log')}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def silent_server() -> Iterator[str]:
    """A URL that accepts connections and never answers, like a registry stuck on its storage."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        server.close()


@contextmanager
def dashboard_on(redis_url: str, settings: Any) -> Iterator[None]:
    """Point the cache, the health check and Celery's broker (for sending) at ``redis_url``."""
    from registry_admin.celery import app

    settings.REDIS_URL = redis_url
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": redis_url}}
    # Celery keeps one connection pool per app: give the test a fresh one on the private
    # Redis and put the session's own pool back afterwards, untouched.
    saved = app.conf.broker_url, app._pool, app.amqp._producer_pool
    app.conf.broker_url = redis_url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


ROOT = Path(__file__).resolve().parents[2]


class Stack:
    """The dashboard's worker and beat as separate processes, as ``make run`` starts them,
    on their own SQLite file and the given Redis, so a test can kill them for real."""

    def __init__(self, workdir: Path, redis_url: str, **env: str) -> None:
        import os
        import sys

        self.workdir = workdir
        self.python = sys.executable
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "registry_admin.settings",
            "DATA_DIR": str(data),
            "DATABASE_URL": f"sqlite:///{data / 'db.sqlite3'}",
            "REDIS_URL": redis_url,
            "DJANGO_SECRET_KEY": "stack-test",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.run_python("from django.core.management import call_command; call_command('migrate', verbosity=0)")

    def run_python(self, code: str, timeout: float = 120) -> str:
        """Run ``code`` after django.setup() in a fresh process with this stack's settings; its stdout."""
        done = subprocess.run(
            [self.python, "-c", f"import django; django.setup()\n{code}"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"python failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        """``celery -A registry_admin ARGS`` in its own process group, logging to NAME.log."""
        process = _sys.spawn(
            [self.python, "-m", "celery", "-A", "registry_admin", *args],
            self.workdir / f"{name}.log",
            death_signal=signal.SIGKILL,
            env=self.env,
        )
        self.processes.append(process)
        return process

    def start_worker(
        self, name: str = "worker", concurrency: int = 1, pool: str = "threads", beat_thread: bool = False
    ) -> subprocess.Popen[bytes]:
        """A worker with make run's pool (threads, issue 28) unless told; beat inside it with ``beat_thread``."""
        options = ["--pool", pool, "--concurrency", str(concurrency), *(["--beat-thread"] if beat_thread else [])]
        return self.start("worker", *options, "--loglevel", "INFO", "--hostname", f"{name}@%h", name=name)

    def start_beat(self) -> subprocess.Popen[bytes]:
        schedule = self.workdir / "beat-schedule"
        return self.start("beat", "--loglevel", "INFO", "--schedule", str(schedule), name="beat")

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def job(self, job_id: int) -> dict[str, Any]:
        """The job's row, read straight from the stack's database file."""
        import sqlite3

        with sqlite3.connect(Path(self.env["DATA_DIR"]) / "db.sqlite3", timeout=10) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM maintenance_job WHERE id = ?", (job_id,)).fetchone()
        return dict(row) if row else {}

    def enqueue_stats(self) -> int:
        code = (
            "from jobs import services\n"
            "from jobs.models import Job\n"
            "from maintenance import task_names\n"
            "print(services.queue(task_names.COLLECT_STATS, Job.Kind.STATS, {}).pk)"
        )
        return int(self.run_python(code).strip().splitlines()[-1])

    def enqueue_gc(self, **params: Any) -> int:
        code = (
            "from maintenance import gc_requests\n"
            f"print(gc_requests.request_gc(gc_requests.GcParams.parse({params!r})).pk)"
        )
        return int(self.run_python(code).strip().splitlines()[-1])

    def wait_for(self, job_id: int, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        row: dict[str, Any] = {}
        while time.monotonic() < deadline:
            row = self.job(job_id)
            if row.get("status") in statuses:
                return row
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} not {statuses} after {timeout}s: {row}\n{self.log('worker')[-3000:]}")

    def stop(self) -> None:
        import contextlib
        import os

        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool children at once, as the OOM killer or a power cut would."""
    import os

    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def gc_stack(engine: Any, workdir: Path, redis_url: str, prefix: str, **env: str) -> tuple[Any, Stack]:
    """A private registry holding ``team/app:1`` and a ``Stack`` whose worker may collect it:
    what the tests that kill or time out a GC start from (the caller stops the stack and
    removes the registry)."""
    from testenv import images
    from testenv.services import start_registry

    registry = start_registry(engine, name=f"{prefix}-{uuid.uuid4().hex[:6]}")
    images.push_oci_image(registry.url, "team/app", "1")
    stack = Stack(
        workdir,
        redis_url,
        REGISTRY_URL=registry.url,
        REGISTRY_CONTAINER=registry.container_name,
        GC_LOCK_TIMEOUT="10",
        GC_WATCHDOG_INTERVAL="10",
        **env,
    )
    return registry, stack


def silent_stack(workdir: Path, redis_url: str, registry: str) -> Stack:
    """A ``Stack`` against ``registry``, one that never answers (the ``silent_registry``
    fixture), with no engine, a 5 s heartbeat and watchdog and no sync at start: what the tests of
    a job stuck past its time limits start from (the caller stops the stack)."""
    return Stack(
        workdir,
        redis_url,
        REGISTRY_URL=registry,
        REGISTRY_TIMEOUT="120",
        DOCKER_HOST=f"unix://{workdir.parent}/no-engine.sock",
        JOB_HEARTBEAT_TIMEOUT="5",
        JOB_WATCHDOG_INTERVAL="5",
        INVENTORY_SYNC_ON_START="false",
    )

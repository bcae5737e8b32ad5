"""Real faults for the tests: a private Redis that can be stopped and started again on its port.

The session's shared Redis stays up; a test that needs Redis gone points the cache and
Celery's broker at one of these and stops it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
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
def dashboard_on(redis_url: str, settings: Any) -> Iterator[None]:
    """Point the cache, the health check and Celery's broker (for sending) at ``redis_url``."""
    from registry_admin.celery import app

    settings.REDIS_URL = redis_url
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": redis_url}}
    old_broker = app.conf.broker_url

    def reset_pools() -> None:
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = redis_url
    reset_pools()
    try:
        yield
    finally:
        app.conf.broker_url = old_broker
        reset_pools()

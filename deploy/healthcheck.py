#!/usr/bin/env python3
"""Container health checks for docker-compose.yml: ``healthcheck.py web|worker|beat``.

Exit 0 when healthy; otherwise print why and exit 1 (Docker shows the text in
``docker inspect --format '{{json .State.Health}}' <container>``).

- web: ``GET /-/alive`` on the container's own port (the one page without a login).
- worker: a Celery ping to this container's own node, ``worker@<hostname>``; with beat inside
  it (BEAT_IN_WORKER, the default), beat's check below as well, since the worker started.
- beat: its process is alive and it keeps firing the engine health check: the database's
  ``last_run_at`` of the ``record-engine-health`` schedule stays recent.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(APP_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")

BEAT_PIDFILE = Path("/tmp/celerybeat.pid")  # noqa: S108 - the path deploy/entrypoint.sh gives beat
# celery beat writes last_run_at to the database at most every 3 minutes (Scheduler.sync_every)
# and django-celery-beat re-reads its schedule every 5: allow both on top of the interval.
BEAT_SYNC_SLACK = 600


class Unhealthy(Exception):
    pass


def _host_header() -> str:
    """A name ALLOWED_HOSTS accepts: Django answers 400 to any other Host header."""
    from registry_admin.env import envlist

    for host in envlist("DJANGO_ALLOWED_HOSTS", "*"):
        if "*" not in host:
            return host.lstrip(".")
    return "localhost"


def check_web() -> str:
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/-/alive", headers={"Host": _host_header()})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - fixed http URL
            body = response.read()
    except (urllib.error.URLError, OSError) as e:
        raise Unhealthy(f"GET /-/alive on port {port} failed: {e}") from e
    if body != b"ok":
        raise Unhealthy(f"GET /-/alive answered {body[:100]!r}, not ok")
    return "web answers on /-/alive"


def check_worker() -> str:
    from registry_admin.celery import app

    node = f"worker@{socket.gethostname()}"
    try:
        replies = app.control.ping(destination=[node], timeout=5)
    except Exception as e:  # kombu raises a variety of connection errors
        raise Unhealthy(f"cannot reach the broker to ping {node}: {e}") from e
    if not replies:
        raise Unhealthy(f"{node} did not answer a ping within 5 s")
    from registry_admin.env import envbool

    if not envbool("BEAT_IN_WORKER", True):
        return f"{node} answers"
    # The worker is the container's first process (deploy/entrypoint.sh execs it).
    return f"{node} answers; {_schedule_keeps_firing('beat in the worker', Path('/proc/1').stat().st_mtime)}"


def check_beat() -> str:
    try:
        pid = int(BEAT_PIDFILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError) as e:
        raise Unhealthy(f"celery beat is not running (pidfile {BEAT_PIDFILE}: {e})") from e
    return _schedule_keeps_firing(f"beat (pid {pid})", BEAT_PIDFILE.stat().st_mtime)


def _schedule_keeps_firing(who: str, started: float) -> str:
    import django

    django.setup()
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    schedule = PeriodicTask.objects.filter(name="record-engine-health", enabled=True).first()
    if schedule is None:
        return f"{who} runs; the engine health schedule is disabled, so only the process is checked"
    last_sent = schedule.last_run_at.timestamp() if schedule.last_run_at else 0.0
    allowed = settings.ENGINE_HEALTH_INTERVAL + BEAT_SYNC_SLACK
    quiet_for = time.time() - max(started, last_sent)
    if quiet_for > allowed:
        raise Unhealthy(f"{who} sent no record-engine-health for {quiet_for:.0f} s (allowed {allowed} s)")
    return f"{who} runs and fired record-engine-health {time.time() - last_sent:.0f} s ago"


CHECKS = {"web": check_web, "worker": check_worker, "beat": check_beat}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: {argv[0]} {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    try:
        print(CHECKS[argv[1]]())
    except Unhealthy as e:
        print(f"unhealthy: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The dashboard's own memory, for the Registry page beside the registry's (issue 28).

Each service measures its processes from ``/proc/PID/smaps_rollup``: PSS (shared pages divided
among the processes that share them, the figure that adds up) and RSS. The web reads its own; a
worker records its figures in the cache with each engine check (every ENGINE_HEALTH_INTERVAL)
and the web reads them from there, as it does the engine's health.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache

WORKER_KEY = "registry-admin:memory:worker"
WORKER_TTL = 3600


@dataclass
class ServiceMemory:
    """One service (web or worker): its processes together."""

    service: str
    processes: int
    pss_bytes: int
    rss_bytes: int
    measured_at: float


def _rollup(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) of one process in bytes; None when it ended or /proc is not Linux's."""
    found = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                parts = line.split()
                if parts[0] in ("Pss:", "Rss:"):
                    found[parts[0]] = int(parts[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    if "Pss:" not in found or "Rss:" not in found:
        return None
    return found["Pss:"], found["Rss:"]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found += [int(child) for child in listed.read().split()]
    except (OSError, ValueError):
        pass
    return found


def measure(service: str, marker: str) -> ServiceMemory | None:
    """This process's service: its parent too when the parent's command holds ``marker`` (the
    gunicorn master, a prefork pool's main process), and every process below. None off Linux."""
    root = os.getpid()
    if marker in _cmdline(os.getppid()):
        root = os.getppid()
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        pids.append(pid)
        queue += _children(pid)
    figures = [found for found in map(_rollup, pids) if found is not None]
    if not figures:
        return None
    return ServiceMemory(
        service, len(figures), sum(pss for pss, _ in figures), sum(rss for _, rss in figures), time.time()
    )


def record_worker() -> None:
    """A worker leaves its figures for the web (called with each engine check)."""
    found = measure("worker", "celery")
    if found is not None:
        cache.set(WORKER_KEY, asdict(found), timeout=WORKER_TTL)


def recorded_worker() -> ServiceMemory | None:
    found: dict[str, Any] | None = cache.get(WORKER_KEY)
    return ServiceMemory(**found) if found else None


def dashboard() -> list[ServiceMemory]:
    """The web (measured now) and the worker (as it last recorded), those that are known."""
    return [found for found in (measure("web", "gunicorn"), recorded_worker()) if found is not None]

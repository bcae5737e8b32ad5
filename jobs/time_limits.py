"""Task time limits in a pool of threads (CELERY_POOL=threads, the NAS-sized default; issue 28).

Celery enforces ``soft_time_limit`` and ``time_limit`` only in the prefork pool (a signal to
the pool process, then killing it); its thread pool ignores both. Here one thread of the
worker's main process does the same for tasks run in pool threads:

- at the soft limit it raises ``SoftTimeLimitExceeded`` in the task's thread (as prefork's
  SIGUSR1 does), so the task ends its job with "exceeded its time limit" and a GC restores
  the registry in its ``finally``;
- at the hard limit, where prefork kills the process, the task is abandoned as a killed
  process would be: its jobs stop beating (the job watchdog fails them after
  JOB_HEARTBEAT_TIMEOUT), the GC lock it holds stops being extended (it expires, and the GC
  watchdog restores the registry), and ``TimeLimitExceeded`` is raised in its thread, again
  every second, for the moment it comes back from a blocking call.

A thread cannot be killed in Python: a task blocked forever in C code keeps its thread, but no
longer its jobs or its lock. Tasks run in the main thread (prefork, solo, eager tests) are
left to Celery.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_postrun, task_prerun

logger = logging.getLogger(__name__)


@dataclass
class _Limited:
    task_id: str
    name: str
    thread_id: int
    soft_at: float | None
    hard_at: float | None
    soft_sent: bool = False
    abandoned: bool = False
    last_raise: float = field(default=0.0)


#: What abandoning a task releases, called with its task id and thread id (registered by the
#: job heartbeat and the GC lock heartbeat).
_on_abandon: list[Callable[[str, int], None]] = []


def on_abandon(callback: Callable[[str, int], None]) -> None:
    _on_abandon.append(callback)


def raise_in_thread(thread_id: int, exception: type[BaseException]) -> bool:
    """Raise ``exception`` in the thread ``thread_id`` at its next Python instruction."""
    done = int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exception)))
    if done > 1:  # more than one thread state changed: undo, as the C API asks
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
        return False
    return done == 1


class TimeLimits:
    """The running tasks with limits, and the thread that enforces them."""

    def __init__(self, tick: float = 0.5) -> None:
        self.tick = tick
        self._lock = threading.Lock()
        # Woken when a limited task starts: with none running the thread sleeps without a timeout
        # (an idle worker wakes for nothing; issue 28's idle CPU).
        self._changed = threading.Condition(self._lock)
        self._running: dict[str, _Limited] = {}
        self._thread: threading.Thread | None = None

    def started(self, task_id: str, name: str, soft: float | None, hard: float | None) -> None:
        """A task starts in this (pool) thread with these limits in seconds (None: no limit)."""
        if not soft and not hard:
            return
        now = time.monotonic()
        limited = _Limited(
            task_id, name, threading.get_ident(), now + soft if soft else None, now + hard if hard else None
        )
        with self._lock:
            self._running[task_id] = limited
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="task-time-limits", daemon=True)
                self._thread.start()
            self._changed.notify()

    def ended(self, task_id: str) -> None:
        with self._lock:
            self._running.pop(task_id, None)

    def _watch(self) -> None:
        with self._lock:
            while True:
                self._changed.wait(self.wait_seconds(time.monotonic()))
                self._enforce(time.monotonic())

    def wait_seconds(self, now: float) -> float | None:
        """How long the thread may sleep before something is due (the lock held): None (until a
        task starts) when no limited task runs, else until the nearest limit not yet acted on, or
        ``tick`` while an abandoned task is sent its exception again every second."""
        due: list[float] = []
        for task in self._running.values():
            if task.abandoned:
                return self.tick
            if task.hard_at is not None:
                due.append(task.hard_at)
            if task.soft_at is not None and not task.soft_sent:
                due.append(task.soft_at)
        if not due:
            return None
        return max(0.0, min(due) - now) + 0.01

    def enforce(self, now: float) -> None:
        # Under the lock: a task that ends meanwhile is not sent an exception meant for it.
        with self._lock:
            self._enforce(now)

    def _enforce(self, now: float) -> None:
        for task in list(self._running.values()):
            if task.hard_at is not None and now >= task.hard_at:
                if not task.abandoned:
                    task.abandoned = True
                    logger.error("Hard time limit exceeded for %s[%s]: abandoning it", task.name, task.task_id)
                    for callback in _on_abandon:
                        try:
                            callback(task.task_id, task.thread_id)
                        except Exception:
                            logger.exception("could not release what %s[%s] held", task.name, task.task_id)
                if now - task.last_raise >= 1.0:
                    task.last_raise = now
                    raise_in_thread(task.thread_id, TimeLimitExceeded)
            elif task.soft_at is not None and now >= task.soft_at and not task.soft_sent:
                task.soft_sent = True
                logger.warning("Soft time limit exceeded for %s[%s]", task.name, task.task_id)
                raise_in_thread(task.thread_id, SoftTimeLimitExceeded)


limits = TimeLimits()


def in_pool_thread() -> bool:
    """Whether this task runs in a pool thread (the thread pool), not a process's main thread."""
    return threading.current_thread() is not threading.main_thread()


@task_prerun.connect
def _task_started(task_id: str | None = None, task: Task[..., object] | None = None, **kwargs: object) -> None:
    if task_id is None or task is None or task.request.is_eager or not in_pool_thread():
        return
    hard, soft = task.request.timelimit or (None, None)
    limits.started(task_id, task.name, soft or task.soft_time_limit, hard or task.time_limit)


@task_postrun.connect
def _task_finished(task_id: str | None = None, **kwargs: object) -> None:
    if task_id is not None:
        limits.ended(task_id)

"""A large one-shot job run in a short-lived forked child of the worker (issue 28).

A scheduled sync at 10,000 repositories builds tens of megabytes (tag lists, the inventory's rows,
the modules it imports lazily) that the worker's allocator keeps after the job even with
``gc.collect()`` and ``malloc_trim``: the worker stayed ~20 MB above idle after each sync. Run in
a child forked for the job, that memory returns to the system when the child exits; the child
shares the worker's pages copy-on-write (the worker's objects are frozen out of the collectors'
sight in both processes while the child runs: ``gc.freeze``), so its PSS is mostly what the job
builds.

One lifecycle, as in the worker: the child claims, runs and ends the job (``JobRunner.handle``),
its log, its heartbeat (a thread of the child) and its result as before. Around it:

- the child's soft time limit is an alarm raising ``SoftTimeLimitExceeded`` (the job fails with
  the kind's sentence); the parent kills the child at the task's hard limit and fails the job;
- a child that dies otherwise (SIGKILL, the kernel's OOM killer, an exit without a result)
  leaves its job failed by the parent, naming the signal; the job watchdog remains the net when
  the parent dies too: the child dies with the thread that forked it (PR_SET_PDEATHSIG), its
  heartbeat stops;
- the worker forks only at a quiet moment: no other thread in Django's database code or holding
  a connection (see ``busy``; SQLite is not fork-safe), else the job runs in place; the forking
  thread's connections are closed before the fork, and the child opens its own; Celery's
  producer pool is dropped in the child (``app._after_fork``), and the modules that keep
  clients, locks or lock files reset them with ``os.register_at_fork``;
- the child never returns into Celery: it leaves with ``os._exit``.

Only in a worker started by the ``celery worker`` command (``celeryd_init``) and when
JOB_CHILD_PROCESS is on (the default); elsewhere (tests, eager tasks) the job runs in place.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import math
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from celery import current_app, current_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import celeryd_init
from django import db
from django.conf import settings
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from jobs import runner
from jobs.models import Job

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
# The parent ends the child this long before the task's own hard limit (where the thread pool's
# time limits abandon the task): it then still has the time to fail the job itself.
HARD_MARGIN = 2.0
POLL = 0.2  # seconds between two looks at the child (an exception raised in the thread lands between)

_in_worker = False


@celeryd_init.connect
def _started_as_worker(**kwargs: object) -> None:
    global _in_worker
    _in_worker = True


def enabled() -> bool:
    """Whether this process runs large jobs in a child: a real worker with JOB_CHILD_PROCESS on."""
    return _in_worker and bool(getattr(settings, "JOB_CHILD_PROCESS", True)) and hasattr(os, "fork")


def _limits() -> tuple[float | None, float | None]:
    """The running task's (soft, hard) time limits in seconds, per message or the task's own."""
    task = current_task
    if task is None or not getattr(task, "request", None):
        return None, None
    hard, soft = task.request.timelimit or (None, None)
    return soft or task.soft_time_limit, hard or task.time_limit


def _load_libc() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_libc = _load_libc()  # loaded here, not in the child (no dlopen after a fork)


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the kernel sends SIGKILL when the thread that forked this process ends."""
    with contextlib.suppress(AttributeError):  # not Linux: the heartbeat and the watchdog still hold
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _raise_soft_limit(signum: int, frame: object) -> None:
    raise SoftTimeLimitExceeded()


def _child(parent: int, handle: Callable[[int], None], job_id: int, soft: float | None) -> None:
    """The child's whole life: never returns."""
    code = 1
    try:
        _die_with_parent()
        if os.getppid() != parent:  # the parent ended before the signal was armed
            os._exit(1)
        # Celery's handlers (warm shutdown on SIGTERM...) belong to the worker, not to this child.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(signum, signal.SIG_DFL)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)  # the parent's, if it set one
        current_app._after_fork()  # type: ignore[attr-defined]  # Celery's own: its producer pool is the parent's
        if soft:
            signal.signal(signal.SIGALRM, _raise_soft_limit)
            signal.alarm(max(1, math.ceil(soft)))
        handle(job_id)
        code = 0
    except BaseException:
        logger.exception("job %s: its child process failed", job_id)
    finally:
        with contextlib.suppress(BaseException):
            signal.alarm(0)
            db.connections.close_all()
            logging.shutdown()  # flush the handlers
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        return f"killed by signal {signum} ({signal.Signals(signum).name})"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _reap(pid: int, kill: bool) -> int:
    """Wait for the child (killing it first when ``kill``); its wait status."""
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:  # reaped by someone else (a SIGCHLD handler): no status to read
            return 0
        except (SoftTimeLimitExceeded, TimeLimitExceeded):  # the thread pool's limits: the child is dying
            continue


# --- When a fork is safe ---------------------------------------------------------------------
# SQLite is not fork-safe: a thread inside it at the fork leaves its global mutexes locked in the
# child (seen: the child hung in sqlite3Malloc on the first connection), and its per-process lock
# bookkeeping (unixInodeInfo, the WAL's shared-memory locks) would count the parent's open
# connections and their locks as the child's own. So the worker forks only at a quiet moment: no
# other thread holds an open database connection (Django closes them after each task, the
# heartbeat and watchdog threads after each round) and none runs in Django's database code. The
# check and the fork happen while this thread holds the GIL: no other thread runs Python code,
# so none can enter the database in between.

_wrappers: weakref.WeakSet[Any] = weakref.WeakSet()


@receiver(connection_created)
def _track(sender: object, connection: Any, **kwargs: object) -> None:
    _wrappers.add(connection)


def busy() -> list[str]:
    """Why a fork is not safe now: the other threads in the database, or holding a connection."""
    me = threading.get_ident()
    found = []
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        current: FrameType | None = frame
        while current is not None:
            if any(part in current.f_code.co_filename for part in DATABASE_CODE):
                found.append(f"thread {names.get(ident, ident)} in {current.f_code.co_filename}")
                break
            current = current.f_back
    found += [
        f"thread {names.get(wrapper._thread_ident, wrapper._thread_ident)} holds a {wrapper.vendor} connection"
        for wrapper in list(_wrappers)
        # SQLite's locks are the process's (its bookkeeping would count them as the child's); a
        # PostgreSQL connection is a socket the child never uses (kept 60 s: CONN_MAX_AGE).
        if wrapper.connection is not None and wrapper.vendor == "sqlite"
    ]
    return found


DATABASE_CODE = (f"{os.sep}django{os.sep}db{os.sep}", f"{os.sep}sqlite3{os.sep}", "django_celery_beat")
QUIET_WAIT = 60.0  # seconds a job waits for a quiet moment before it runs in place
QUIET_POLL = 0.02


def _wait_until_quiet(wait: float) -> list[str]:
    """Sleep in short steps until ``busy()`` is empty (returned with the GIL held), at most ``wait``
    seconds; what was still busy then."""
    deadline = time.monotonic() + wait
    while True:
        reasons = busy()
        if not reasons or time.monotonic() >= deadline:
            return reasons
        time.sleep(QUIET_POLL)


def run_in_child(handle: Callable[[int], None], job_id: int) -> None:
    """Run ``handle(job_id)`` (a ``JobRunner.handle``) in a forked child and wait for it; see above.
    In place when no quiet moment comes within QUIET_WAIT seconds (logged)."""
    soft, hard = _limits()
    started = time.monotonic()
    deadline = started + hard - HARD_MARGIN if hard else None
    db.connections.close_all()  # this thread's: the child opens its own
    still_busy = _wait_until_quiet(QUIET_WAIT)
    if still_busy:
        logger.warning("job %s runs in the worker itself: no quiet moment to fork (%s)", job_id, "; ".join(still_busy))
        handle(job_id)
        return
    parent = os.getpid()
    # The worker's objects out of the collector's sight while the child runs, in both processes:
    # a collection would write to every object's header and copy each page the two share (a
    # full collection in the parent during a sync at 10,000 repositories: the worker's 108 MB
    # became 117 + 123). Given back to the parent's collector once the child ended.
    gc.freeze()
    try:
        pid = os.fork()
    except BaseException:
        gc.unfreeze()
        raise
    if pid == 0:
        # The soft limit counts from the task's start, as the thread pool's would.
        _child(parent, handle, job_id, soft - (time.monotonic() - started) if soft else None)
    logger.info("job %s runs in child process %s", job_id, pid)
    reason, status = "", 0
    try:
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    status = _reap(pid, kill=True)
                    reason = f"it exceeded its hard time limit ({hard:.0f} s) and its process was killed"
                    break
                time.sleep(POLL)
            except SoftTimeLimitExceeded:  # the child has its own alarm: it ends the job itself
                continue
    except BaseException:  # the thread pool's hard limit, the worker stopping: the child goes too
        status = _reap(pid, kill=True)
        reason = f"its process was {_describe(status)} when the worker stopped waiting for it"
        raise
    finally:
        gc.unfreeze()
        _after_child(job_id, pid, status, reason, time.monotonic() - started)


def _after_child(job_id: int, pid: int, status: int, reason: str, seconds: float) -> None:
    """The child ended: a job it left running is failed now, with why (its heartbeat stopped anyway)."""
    try:
        if status == 0 and not reason:
            logger.info("job %s: child process %s ended after %.1f s", job_id, pid, seconds)
            return
        reason = reason or f"its process was {_describe(status)}"
        logger.error("job %s: child process %s ended: %s", job_id, pid, reason)
        job = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).first()
        if job is not None:
            runner.log(job, f"ERROR: The job stopped: {reason}.")
            runner.fail(
                job,
                f"The job stopped: {reason}. Check the worker's log (out of memory?), then run it again.",
            )
    finally:
        db.connections.close_all()

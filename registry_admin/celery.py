"""The Celery app: broker and schedule come from Django settings (CELERY_*).

``celery worker --beat-thread`` runs the scheduler (beat) as a thread of the worker's main
process, so a NAS runs one process for both instead of two full copies of the project
(issue 28; README, "Memory"). Celery's own ``-B`` forks beat into a process of its own.

After a task that ran for ``RELEASE_AFTER_SECONDS`` or more (a sync of 10,000 repositories, a GC,
a retention run), the worker gives the memory it freed back to the system (``release_memory``):
a long-lived process otherwise keeps its peak, and the worker shares a NAS's memory.
"""

import ctypes
import ctypes.util
import gc
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
from celery import Celery, beat, bootsteps, signals
from celery.worker import WorkController

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")

# A Celery worker on SQLite (no DATABASE_URL: the NAS default) never needs psycopg, yet Django
# REST framework imports django.contrib.postgres, and so psycopg and libpq, whenever they are
# installed: about 6 MB. Marked absent before anything imports it, as deploy/gunicorn.conf.py
# does for the web (issue 28). Any other process (tests, manage.py) is left alone.
if (
    Path(sys.argv[0]).name == "celery"
    and "worker" in sys.argv
    and not (os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_URL_FILE"))
):
    sys.modules.setdefault("psycopg", None)  # type: ignore[arg-type]

app = Celery("registry_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class _BeatThread(threading.Thread):
    """``celery.beat.Service`` (Celery's public scheduler service, what ``celery beat`` runs) on a
    daemon thread: started with the worker, stopped (and the schedule synced) with it."""

    def __init__(self, service: beat.Service) -> None:
        super().__init__(name="Beat", daemon=True)
        self.service = service

    def run(self) -> None:
        self.service.app.set_current()
        # The database scheduler's connection is closed after each tick (every 5 s), as Django
        # closes a task's: a thread that keeps one open would keep the worker from forking a job's
        # child process safely (jobs/child.py).
        from django import db

        scheduler = self.service.scheduler
        tick = scheduler.tick

        def tick_and_close(*args: Any, **kwargs: Any) -> Any:
            try:
                return tick(*args, **kwargs)
            finally:
                db.connection.close()

        scheduler.tick = tick_and_close  # type: ignore[method-assign]
        self.service.start()

    def stop(self) -> None:
        self.service.stop(wait=True)


class SchedulerThread(bootsteps.StartStopStep):
    """beat inside the worker, as a thread: started after the pool, stopped with the worker."""

    label = "SchedulerThread"
    conditional = True

    def __init__(self, parent: WorkController, beat_thread: bool = False, **kwargs: object) -> None:
        self.enabled = bool(beat_thread)
        super().__init__(parent, **kwargs)

    def create(self, parent: WorkController) -> _BeatThread:  # type: ignore[override]
        # Not beat.EmbeddedService(thread=True): it forces a tick every second, and each tick of
        # the database scheduler asks the database whether the schedules changed. Every 5 s, as a
        # separate `celery beat` does (django-celery-beat's DEFAULT_MAX_INTERVAL); stopping waits
        # at most that long. Not `-B` either: it forks beat into a process of its own. The
        # database scheduler keeps no schedule file. Beat's own remote control stays off (Celery's
        # beat_enable_remote_control default): the worker answers for this process.
        return _BeatThread(beat.Service(parent.app, max_interval=5, scheduler_cls=parent.app.conf.beat_scheduler))


app.user_options["worker"].add(
    click.Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Run the scheduler (beat) as a thread of this worker (BEAT_IN_WORKER).",
    )
)
app.steps["worker"].add(SchedulerThread)


RELEASE_AFTER_SECONDS = 10.0
_started: dict[str, float] = {}


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (None elsewhere, e.g. musl or macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim()


def release_memory() -> None:
    """Collect cycles, then hand the C heap's free pages back to the system: what a long task
    built (the sync's rows, a GC's lists) and freed stops counting against the worker."""
    gc.collect()
    if _trim is not None:
        _trim(0)


@signals.task_prerun.connect
def _note_start(task_id: str | None = None, **_: object) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _release_after_long_task(task_id: str | None = None, **_: object) -> None:
    began = _started.pop(task_id, None) if task_id else None
    if began is not None and time.monotonic() - began >= RELEASE_AFTER_SECONDS:
        release_memory()

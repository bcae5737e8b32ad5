"""The Celery app: broker and schedule come from Django settings (CELERY_*).

``celery worker --beat-thread`` runs the scheduler (beat) as a thread of the worker's main
process, so a NAS runs one process for both instead of two full copies of the project
(issue 28; README, "Memory"). Celery's own ``-B`` forks beat into a process of its own.
"""

import os
import threading

import click
from celery import Celery, beat, bootsteps
from celery.worker import WorkController

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_admin.settings")

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

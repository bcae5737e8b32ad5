"""The web side sends tasks by name (it never imports maintenance.tasks): each name must be a task."""

from __future__ import annotations

from django.conf import settings

import maintenance.tasks  # noqa: F401 - registers the tasks, as a worker's autodiscovery does
from maintenance import task_names
from registry_admin.celery import app


def test_every_task_name_the_web_sends_is_a_registered_task() -> None:
    names = {value for name, value in vars(task_names).items() if name.isupper()}
    assert names, "task_names lists no task"
    assert names <= set(app.tasks), names - set(app.tasks)


def test_every_beat_entry_names_a_registered_task() -> None:
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry

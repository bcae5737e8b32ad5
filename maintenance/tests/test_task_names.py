"""The web side sends tasks by name (it never imports maintenance.tasks): each name must be a task."""

from __future__ import annotations

from django.conf import settings

import inventory.tasks  # noqa: F401 - registers the tasks, as a worker's autodiscovery does
import jobs.tasks  # noqa: F401
import maintenance.tasks  # noqa: F401
import notifications.tasks  # noqa: F401
from inventory import task_names as inventory_task_names
from maintenance import task_names
from registry_admin.celery import app


def test_every_task_name_the_web_sends_is_a_registered_task() -> None:
    for module in (task_names, inventory_task_names):
        names = {value for name, value in vars(module).items() if name.isupper()}
        assert names, f"{module.__name__} lists no task"
        assert names <= set(app.tasks), names - set(app.tasks)


def test_every_beat_entry_names_a_registered_task() -> None:
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry

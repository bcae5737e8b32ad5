"""The web side sends notifications' tasks by name, and beat by the names in settings: each must be a
task a worker registers."""

from __future__ import annotations

from django.conf import settings

import notifications.tasks  # noqa: F401 - registers the tasks, as a worker's autodiscovery does
from notifications import task_names
from registry_admin.celery import app


def test_every_task_name_the_web_and_beat_send_is_a_registered_task() -> None:
    names = {value for name, value in vars(task_names).items() if name.isupper()}
    beat = {entry["task"] for key, entry in settings.CELERY_BEAT_SCHEDULE.items() if key.startswith("notifications-")}
    assert len(beat) == 3 and beat <= names
    assert names and names <= set(app.tasks), names - set(app.tasks)

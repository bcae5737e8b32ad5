"""The web side sends retention's tasks by name: each name must be a task a worker registers."""

from __future__ import annotations

import retention.tasks  # noqa: F401 - registers the tasks, as a worker's autodiscovery does
from registry_admin.celery import app
from retention import task_names


def test_every_task_name_the_web_sends_is_a_registered_task() -> None:
    names = {value for name, value in vars(task_names).items() if name.isupper()}
    assert names and names <= set(app.tasks), names - set(app.tasks)

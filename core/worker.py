"""Sending a Celery task by name, and asking a worker and waiting for its answer.

Only workers reach the Docker engine, so the web process never imports a task module (it
would load the engine client with it): it sends tasks by their registered names, which
``maintenance.task_names`` lists and a test checks against the worker's registry. A task
the web waits for takes a call id first and leaves its answer in the cache under it
(Celery's result backend is not used: see settings.CELERY_TASK_IGNORE_RESULT).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.core.cache import cache

ANSWER_KEY = "registry:answer:{}"
ANSWER_TTL = 600


def send(task_name: str, *args: Any, **options: Any) -> None:
    """Queue the task registered as ``task_name`` with positional ``args``."""
    current_app.send_task(task_name, args=args, **options)


@dataclass
class WorkerAnswer:
    """What a task answered, or ``None`` when no worker answered within the wait."""

    result: dict[str, Any] | None
    waited: float

    @property
    def answered(self) -> bool:
        return self.result is not None


def ask_worker(task_name: str, *args: Any, wait: float, expires: float | None = None) -> WorkerAnswer:
    """Send ``task_name(call_id, *args)`` and wait up to ``wait`` seconds for its answer."""
    call_id = uuid.uuid4().hex
    started = time.monotonic()
    send(task_name, call_id, *args, expires=expires)
    key = ANSWER_KEY.format(call_id)
    while time.monotonic() - started < wait:
        result: dict[str, Any] | None = cache.get(key)
        if result is not None:
            cache.delete(key)
            return WorkerAnswer(result, time.monotonic() - started)
        time.sleep(0.2)
    return WorkerAnswer(None, wait)


def answer(call_id: str | None, result: dict[str, Any]) -> None:
    """Leave a task's answer where the waiting web request looks for it."""
    if call_id:
        cache.set(ANSWER_KEY.format(call_id), result, timeout=ANSWER_TTL)

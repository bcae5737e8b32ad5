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

import redis
from celery import current_app
from django.core.cache import cache
from kombu.exceptions import OperationalError as BrokerError

from core.cache import redis_location
from core.errors import ServiceUnavailable

ANSWER_KEY = "registry:answer:{}"
ANSWER_TTL = 600


class QueueUnavailable(ServiceUnavailable):
    """Redis, Celery's broker, does not take the task (503, naming REDIS_URL)."""


def send(task_name: str, *args: Any, **options: Any) -> None:
    """Queue the task registered as ``task_name`` with positional ``args``; QueueUnavailable when
    Redis does not answer."""
    try:
        current_app.send_task(task_name, args=args, **options)
    except (BrokerError, redis.exceptions.RedisError, OSError) as e:
        raise QueueUnavailable(
            f"Redis at {redis_location()} does not answer ({e}), so the job cannot be queued: start "
            "redis-server or correct REDIS_URL, then try again."
        ) from e


@dataclass
class WorkerAnswer:
    """What a task answered, or ``None`` when no worker answered within the wait."""

    result: dict[str, Any] | None
    waited: float

    @property
    def answered(self) -> bool:
        return self.result is not None


def ask_worker(task_name: str, *args: Any, wait: float, expires: float | None = None) -> WorkerAnswer:
    """Send ``task_name(call_id, *args)`` and wait up to ``wait`` seconds for its answer.

    QueueUnavailable (503, naming REDIS_URL) when Redis does not take the task."""
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

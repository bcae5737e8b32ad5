"""Sending Celery tasks: a broker that does not answer is a ``QueueUnavailable`` naming REDIS_URL."""

from __future__ import annotations

from typing import Any

import redis
from celery import Task
from kombu.exceptions import OperationalError as BrokerError

from core.cache import redis_location
from core.errors import ServiceUnavailable


class QueueUnavailable(ServiceUnavailable):
    """Redis, Celery's broker, does not take the task."""


def send(task: Task, args: tuple[Any, ...] = (), **options: Any) -> None:
    try:
        task.apply_async(args, **options)
    except (BrokerError, redis.exceptions.RedisError, OSError) as e:
        raise QueueUnavailable(
            f"Redis at {redis_location()} does not answer ({e}), so the job cannot be queued: start "
            "redis-server or correct REDIS_URL, then try again."
        ) from e

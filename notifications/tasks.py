"""notifications' Celery tasks: thin, each hands its work to a module and records in the database."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from notifications import delivery, dispatch, watch
from notifications.models import Delivery


def _queue(sent: Delivery) -> None:
    deliver.apply_async((sent.pk,))


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def dispatch_announcement(kind: str, facts: dict[str, Any]) -> None:
    """Turn an announcement (core.notable) into deliveries and digest lines."""
    dispatch.dispatch(kind, facts, send=_queue)


@shared_task(bind=True, ignore_result=True, acks_late=True, soft_time_limit=60, time_limit=90, max_retries=None)
def deliver(self: Task[Any, Any], delivery_id: int) -> None:
    """One attempt; on failure the task comes back after the backoff until NOTIFICATIONS_ATTEMPTS."""
    wait = delivery.attempt(delivery_id)
    if wait is not None:
        raise self.retry(countdown=wait)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def flush_digests() -> None:
    """Send the digests whose window has ended (beat, every 30 s)."""
    dispatch.flush_due(send=_queue)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def watch_registry() -> None:
    """Ask the registry whether it answers; tell once when it stops, and once when it is back (beat)."""
    watch.check_registry()


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def prune_deliveries() -> None:
    """Forget deliveries older than NOTIFICATIONS_LOG_DAYS (beat, hourly)."""
    dispatch.prune()

"""The inventory's Celery tasks: thin entry points over ``inventory.events``.

Registered under the names in ``inventory.task_names``; the web sends them by name.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from celery.signals import worker_ready
from django.db import OperationalError

from core.worker import send
from inventory import events, gaps, receiving
from inventory.task_names import APPLY_EVENTS

logger = logging.getLogger(__name__)

COALESCE = 0.25  # seconds


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError,),  # SQLite busy past its timeout: again shortly
    retry_backoff=1,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def apply_events() -> None:
    """Apply the registry's pending events (sent by the web on receipt, by a worker's start and
    by beat every few seconds as a sweep). Clears the web's "sent" mark before reading, so an
    envelope stored after the last read sends another task.

    It first lets COALESCE seconds pass: the events that arrive meanwhile send no task of their
    own and are applied in the same batch (one event a task made a transaction, and a wait of
    the web's inserts on it, per event)."""
    time.sleep(COALESCE)
    receiving.clear_wake()
    done = events.apply_pending(drain=False)
    if done.events:
        logger.info(
            "inventory: %d events applied in %d batches, %.2f s, %d registry requests",
            done.events,
            done.batches,
            done.seconds,
            done.requests,
        )


@worker_ready.connect
def apply_events_on_start(**kwargs: object) -> None:
    """A worker starts: apply what was stored while none ran (or by one killed mid-batch)."""
    try:
        send(APPLY_EVENTS)
    except Exception:  # Redis down: beat's sweep sends it once Redis is back
        logger.warning("inventory: could not queue the events' apply task at start")


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def watch_events() -> None:
    """Every 30 s: events off after they were tracked, or the registry's posts refused, are gaps."""
    for gap in gaps.watch(receiving.take_refused_since()):
        logger.warning("inventory: events gap from %s: %s", gap.started, gap.reason)

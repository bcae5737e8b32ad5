"""Events gaps: times when the registry's events cannot be trusted to have arrived (issue 22).

The registry keeps undelivered events in its memory and loses them when its process ends
(distribution#2422), refuses nothing it could not deliver for long, and sends nothing while
events are off. Whenever that may have happened, a gap is recorded (from, to, why) and a full
reconcile is asked for: the inventory's tags come back from the registry itself, while the pull
history of the gap stays incomplete for good (retention keeps what it leaves unproven).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.worker import send
from inventory.models import Event, EventsGap, EventsState
from inventory.task_names import QUEUE_SYNC

logger = logging.getLogger(__name__)


def restarted(state: EventsState, event: Event) -> str:
    """An event from a registry process other than the last one's: the registry restarted and the
    events it still held are gone. Records the gap (from the last event of the old process to
    this one's) and returns its reason; "" otherwise. ``state`` follows the new process."""
    if not event.instance or event.instance == state.instance:
        return ""
    previous, state.instance = state.instance, event.instance
    if not previous:
        return ""  # the first event with an instance id: nothing to compare with
    last = (
        Event.objects.filter(instance=previous, processed=True)
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)
        .first()
    )
    reason = "The registry restarted (its events carry a new instance id): the events it held undelivered were lost."
    record(last or state.last_event_at or event.timestamp, event.timestamp, reason)
    return reason


def record(started: datetime, ended: datetime | None, reason: str) -> EventsGap:
    """Record a gap and ask for a reconcile once the caller's transaction commits."""
    gap = EventsGap.objects.create(started=started, ended=ended, reason=reason[:500])
    logger.warning("Events gap from %s to %s: %s", started, ended or "now", reason)
    transaction.on_commit(ask_for_reconcile)
    return gap


def ask_for_reconcile() -> None:
    """Queue a full reconcile now (unless one is queued or running); never raises."""
    try:
        send(QUEUE_SYNC)
    except Exception:  # Redis down: the scheduled sync covers the gap
        logger.warning("Could not ask for a reconcile after an events gap; the scheduled sync will run it.")


def open_gaps() -> list[EventsGap]:
    """Gaps no reconcile has covered yet: the inventory cannot vouch for itself."""
    return list(EventsGap.objects.filter(reconciled__isnull=True).order_by("started"))


def reconciled(started_at: datetime) -> int:
    """A full reconcile that began at ``started_at`` finished: every gap detected before it began is covered."""
    return EventsGap.objects.filter(reconciled__isnull=True, detected__lte=started_at).update(reconciled=timezone.now())

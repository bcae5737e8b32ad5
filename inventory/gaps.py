"""Events gaps: times when the registry's events cannot be trusted to have arrived (issue 22).

The registry keeps undelivered events in its memory and loses them when its process ends
(distribution#2422), retries what we refuse only as long as it runs, and sends nothing while
events are off. Whenever that may have happened, a gap is recorded (from, to, why) and a full
reconcile is asked for at once: the inventory's tags come back from the registry itself, while
the pull history of the gap stays incomplete for good (retention keeps what it leaves unproven).

Signs, each checked where it is seen:

- a new ``source.instanceID`` in the events (``restarted``, by the applier): a new registry
  process, whoever restarted it;
- a new start time of the registry container (``container_seen``, by the worker's engine check
  every ENGINE_HEALTH_INTERVAL seconds): restarted or recreated, by an update, a GC that stops
  it or sets it read-only, a restart from the dashboard or by hand, a reboot of the NAS; this
  one is seen even when nothing is pushed afterwards;
- refusals of the registry's posts (``inventory.receiving`` counts them; ``watch``): a wrong
  token, a body we reject, a database that did not answer;
- events off (``watch``): no REGISTRY_EVENTS_TOKEN after events were once tracked.

Two signs of the same restart make one gap: a gap detected within ``MERGE_WINDOW`` of another
whose time it overlaps extends it (the reconcile that followed the first sign, if any, covers it).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import notable
from core.worker import send
from inventory.models import Event, EventsGap, EventsState
from inventory.task_names import SCHEDULED_SYNC

logger = logging.getLogger(__name__)

MERGE_WINDOW = timedelta(minutes=10)
RESTARTED = "The registry restarted (its events carry a new instance id): the events it held undelivered were lost."
OFF = "Events are off (REGISTRY_EVENTS_TOKEN is empty): pushes, pulls and deletes are not followed."


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
    record(last or state.last_event_at or event.timestamp, event.timestamp, RESTARTED)
    return RESTARTED


def container_seen(container_id: str, started: datetime | None) -> EventsGap | None:
    """The worker's engine check saw the registry container: a gap when it started anew since the
    last check (from the last event applied, or the previous start, to this start)."""
    if started is None:
        return None
    with transaction.atomic():
        state = EventsState.objects.select_for_update().filter(pk=1).first() or EventsState.current()
        before, before_id = state.container_started, state.container_id
        if before == started and before_id == container_id:
            return None
        EventsState.objects.filter(pk=1).update(container_id=container_id, container_started=started)
        if before is None or not settings.REGISTRY_EVENTS_TOKEN or state.tracking_since is None:
            return None  # the first look, or no events to lose
        how = "recreated" if container_id != before_id else "restarted"
        reason = (
            f"The registry container was {how} at {started:%Y-%m-%d %H:%M:%S} UTC: the events it held "
            "undelivered were lost (distribution#2422)."
        )
        return record(max(filter(None, (state.last_event_at, before))), started, reason)


def record(started: datetime, ended: datetime | None, reason: str) -> EventsGap:
    """Record a gap (or extend the one a sign of the same event recorded) and ask for a reconcile
    once the caller's transaction commits."""
    now = timezone.now()
    reference = ended or now
    near = (
        EventsGap.objects.filter(detected__gte=now - MERGE_WINDOW)
        .filter(Q(ended__isnull=True) | Q(ended__gt=started))
        .filter(started__lt=reference)
        .order_by("-detected")
        .first()
    )
    if near is not None:
        near.started = min(near.started, started)
        if near.ended is not None:
            near.ended = None if ended is None else max(near.ended, ended)
        if reason not in near.reason:
            near.reason = f"{near.reason} {reason}"[:500]
        near.save(update_fields=["started", "ended", "reason"])
        return near
    gap = EventsGap.objects.create(started=started, ended=ended, reason=reason[:500])
    logger.warning("Events gap from %s to %s: %s", started, ended or "now", reason)
    transaction.on_commit(ask_for_reconcile)
    notable.announce(notable.EVENTS_GAP, detail=f"{reason} A sync catches up now.")
    return gap


def close_open(when: datetime) -> int:
    """Events flow again (the applier applied one dated ``when``): gaps still open end there."""
    return EventsGap.objects.filter(ended__isnull=True, started__lte=when).update(ended=when)


def ask_for_reconcile() -> None:
    """Queue a full reconcile now (unless one is queued or running); never raises."""
    try:
        send(SCHEDULED_SYNC)
    except Exception:  # Redis down: the scheduled sync covers the gap
        logger.warning("Could not ask for a reconcile after an events gap; the scheduled sync will run it.")


def watch(refused_since: datetime | None) -> list[EventsGap]:
    """The worker's periodic look (``inventory.tasks.watch_events``): events off after they were
    tracked, or the registry's posts refused since ``refused_since``, are gaps."""
    found = []
    state = EventsState.current()
    if not settings.REGISTRY_EVENTS_TOKEN:
        already = EventsGap.objects.filter(ended__isnull=True, reason__contains=OFF).exists()
        if state.tracking_since is not None and not already:
            found.append(record(state.last_event_at or timezone.now(), None, OFF))
    elif refused_since is not None:
        reason = (
            "The registry's events were refused (a wrong token, a body the dashboard rejects, or a database "
            "that did not answer): see the Registry page's events health and the web log."
        )
        found.append(record(refused_since, None, reason))
    return found


def open_gaps() -> list[EventsGap]:
    """Gaps no reconcile has covered yet: the inventory cannot vouch for itself."""
    return list(EventsGap.objects.filter(reconciled__isnull=True).order_by("started"))


def reconciled(started_at: datetime) -> int:
    """A full reconcile that began at ``started_at`` finished: every gap detected before it began
    (and closed, or still open but detected before) is covered for the inventory's content."""
    return EventsGap.objects.filter(reconciled__isnull=True, detected__lte=started_at).update(reconciled=timezone.now())


def pull_history_gaps(since: datetime | None = None) -> list[EventsGap]:
    """The gaps in which pulls may have gone uncounted, oldest first (reconciled or not: a
    reconcile brings tags back, not pulls)."""
    found = EventsGap.objects.all()
    if since is not None:
        found = found.filter(Q(ended__isnull=True) | Q(ended__gte=since))
    return list(found.order_by("started"))


def pulls_counted_since() -> datetime | None:
    """Since when the pull counts and last pulls are complete: the start of tracking or the end of
    the last gap, whichever is later; None while events are off, none was ever applied, or a gap
    is still open (then no time is proven)."""
    state = EventsState.objects.filter(pk=1).first()
    if not settings.REGISTRY_EVENTS_TOKEN or state is None or state.tracking_since is None:
        return None
    if EventsGap.objects.filter(ended__isnull=True).exists():
        return None
    last_end = EventsGap.objects.order_by("-ended").values_list("ended", flat=True).first()
    return max(filter(None, (state.tracking_since, last_end)))


_since_cache: tuple[float, datetime | None] = (0.0, None)


def pulls_counted_since_cached(ttl: float = 2.0) -> datetime | None:
    """``pulls_counted_since`` read at most every ``ttl`` seconds (the API adds it to every row)."""
    global _since_cache
    now = time.monotonic()
    if now - _since_cache[0] > ttl:
        _since_cache = (now, pulls_counted_since())
    return _since_cache[1]


def pull_history_hole(window_start: datetime) -> str:
    """Why the pull history from ``window_start`` to now is incomplete ("" when it is complete)."""
    state = EventsState.objects.filter(pk=1).first()
    if not settings.REGISTRY_EVENTS_TOKEN:
        return "pull history incomplete: events are off, so pulls are not counted"
    if state is None or state.tracking_since is None:
        return "pull history incomplete: no pull counted yet (events not received so far)"
    if state.tracking_since > window_start:
        return f"pull history incomplete: pulls counted only since {state.tracking_since:%Y-%m-%d %H:%M} UTC"
    gap = EventsGap.objects.filter(Q(ended__isnull=True) | Q(ended__gte=window_start)).order_by("-started").first()
    if gap is not None:
        to = f"{gap.ended:%Y-%m-%d %H:%M}" if gap.ended else "now"
        return f"pull history incomplete: gap from {gap.started:%Y-%m-%d %H:%M} to {to} UTC ({gap.reason})"
    return ""

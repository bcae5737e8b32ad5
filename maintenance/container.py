"""The registry container as the dashboard sees it: a snapshot, the snapshot pause, restarts.

Two halves, because the web process never opens the engine's socket:

- Worker side (called from ``maintenance.tasks``): ``record_snapshot`` inspects the container
  through ``maintenance.engine`` and stores the result in the cache; ``pause``, ``resume``,
  ``restart`` act on it and record each act in the audit log and, for a pause, a
  ``RegistryPause`` row with its deadline.
- Web side: ``recorded_snapshot`` reads the cache; ``fresh_snapshot`` and ``ask_worker`` send a
  task and wait a few seconds for its answer, which the task writes to the cache under a
  call id (Celery's result backend is not used: see settings.CELERY_TASK_IGNORE_RESULT).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core import audit, queue
from maintenance import engine
from maintenance.models import Job, RegistryPause

logger = logging.getLogger(__name__)

SNAPSHOT_KEY = "registry:container:{}"
ANSWER_KEY = "registry:answer:{}"
ANSWER_TTL = 600
# A pause or restart nobody picked up within this long is dropped: acting minutes later,
# after the operator has gone, would surprise more than help.
ACTION_EXPIRES = 60


# --- Worker side --------------------------------------------------------------------------


def record_snapshot(client: Any | None = None) -> dict[str, Any]:
    """Inspect the registry container and store what the panel and diagnostics show."""
    previous = recorded_snapshot() or {}
    try:
        own_client = client is None
        client = client or engine.connect()
        try:
            snapshot = {"ok": True, "error": "", **engine.inspect_registry(client, settings.REGISTRY_LOG_LINES)}
        finally:
            if own_client:
                client.close()
    except engine.EngineError as e:
        snapshot = {"ok": False, "error": e.message, "name": settings.REGISTRY_CONTAINER}
    if snapshot.get("ok") and snapshot.get("version") is None and previous.get("id") == snapshot.get("id"):
        # Paused containers cannot run `registry --version` nor show their config file:
        # keep what the same container said before.
        for key in ("version", "version_raw", "config", "config_read"):
            snapshot[key] = previous.get(key)
    snapshot["checked_at"] = time.time()
    cache.set(SNAPSHOT_KEY.format(settings.REGISTRY_CONTAINER), snapshot, timeout=None)
    return snapshot


def answer(call_id: str | None, result: dict[str, Any]) -> None:
    """Leave a task's answer where the waiting web request looks for it."""
    if call_id:
        cache.set(ANSWER_KEY.format(call_id), result, timeout=ANSWER_TTL)


def pause(user_id: int | None, seconds: int, via: str) -> dict[str, Any]:
    """Pause the registry for a snapshot and arrange its automatic resume.

    The deadline is written before pausing, so that the beat watchdog resumes the registry
    even if this worker dies right after ``docker pause``; the countdown task is the quick
    path, the watchdog the safety net.
    """
    from maintenance.tasks import resume_after_pause

    user = _user(user_id)
    now = timezone.now()
    if busy := _gc_running():
        return _refused("registry-pause", busy, user, via)
    try:
        client = engine.connect()
    except engine.EngineError as e:
        return _refused("registry-pause", e.message, user, via)
    try:
        current = active_pause()
        if current is not None and engine.is_paused(client):
            return {"ok": True, "status": "paused", "paused_until": current.deadline.isoformat(), "already": True}
        if current is not None:  # resumed outside the dashboard (docker unpause)
            _close(current, "outside", None)
        pause = RegistryPause.objects.create(
            deadline=now + timedelta(seconds=seconds), paused_by=user, container=settings.REGISTRY_CONTAINER
        )
        try:
            engine.pause_registry(client)
        except engine.EngineError as e:
            _close(pause, "failed", None)
            return _refused("registry-pause", e.message, user, via, outcome="failed")
        resume_after_pause.apply_async((pause.pk,), countdown=seconds)
        record_snapshot(client)
    finally:
        client.close()
    audit.record(
        action="registry-pause",
        outcome="succeeded",
        user=user,
        via=via,
        detail=f"paused '{pause.container}' for a snapshot until {pause.deadline.isoformat()} ({seconds} s)",
    )
    return {"ok": True, "status": "paused", "paused_until": pause.deadline.isoformat()}


def resume(user_id: int | None, how: str, via: str, pause_id: int | None = None) -> dict[str, Any]:
    """Unpause the registry and close the pause (``how``: button, timer, watchdog).

    With ``pause_id`` (the timer and the watchdog) only that pause is ended, and only if it
    is still on: a conditional UPDATE decides who resumes when the timer and the watchdog
    fire together.
    """
    user = _user(user_id)
    now = timezone.now()
    pauses = RegistryPause.objects.filter(resumed_at=None)
    if pause_id is not None:
        pauses = pauses.filter(pk=pause_id)
        if not pauses.update(resumed_at=now, resumed_how=how, resumed_by=user):
            return {"ok": True, "status": "unchanged", "detail": "That pause had already ended."}
        claimed = [pause_id]
    else:
        claimed = list(pauses.values_list("pk", flat=True))
        pauses.update(resumed_at=now, resumed_how=how, resumed_by=user)
    try:
        client = engine.connect()
        try:
            was_paused = engine.unpause_registry(client)
            record_snapshot(client)
        finally:
            client.close()
    except engine.EngineError as e:
        # Reopen the pauses so the watchdog tries again.
        RegistryPause.objects.filter(pk__in=claimed).update(resumed_at=None, resumed_how="", resumed_by=None)
        return _refused("registry-unpause", e.message, user, via, outcome="failed")
    detail = f"resumed '{settings.REGISTRY_CONTAINER}' ({how})" if was_paused else "it was not paused"
    audit.record(action="registry-unpause", outcome="succeeded", user=user, via=via, detail=detail)
    return {"ok": True, "status": "running", "detail": detail}


def resume_overdue() -> int:
    """The watchdog: resume every pause past its deadline; the number resumed."""
    overdue = RegistryPause.objects.filter(resumed_at=None, deadline__lte=timezone.now())
    overdue_ids = list(overdue.values_list("pk", flat=True))
    resumed = 0
    for pause_id in overdue_ids:
        result = resume(None, "watchdog", "scheduler", pause_id=pause_id)
        resumed += result.get("status") == "running"
    return resumed


def restart(user_id: int | None, via: str) -> dict[str, Any]:
    """``docker restart`` the registry (also ends a pause), then record its new state."""
    user = _user(user_id)
    if busy := _gc_running():
        return _refused("registry-restart", busy, user, via)
    try:
        client = engine.connect()
        try:
            engine.restart_registry(client)
            record_snapshot(client)
        finally:
            client.close()
    except engine.EngineError as e:
        return _refused("registry-restart", e.message, user, via, outcome="failed")
    for current in RegistryPause.objects.filter(resumed_at=None):
        _close(current, "restart", user)
    audit.record(
        action="registry-restart", outcome="succeeded", user=user, via=via, detail=f"{settings.REGISTRY_CONTAINER}"
    )
    return {"ok": True, "status": "running", "detail": f"'{settings.REGISTRY_CONTAINER}' restarted."}


def _gc_running() -> str:
    """Why the container must be left alone now ('' when it need not): a GC holds it.

    Pausing or restarting mid-collection would break the GC's exec or its recreate.
    """
    from maintenance import gc  # gc imports this module

    job = Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.RUNNING).first()
    if job is None and not gc.redis_client().exists(gc.LOCK_KEY):
        return ""
    named = f" (job {job.pk})" if job is not None else ""
    return f"A garbage collection{named} is running: wait until it ends (see /maintenance/), then try again."


def _close(pause: RegistryPause, how: str, user: Any) -> None:
    RegistryPause.objects.filter(pk=pause.pk, resumed_at=None).update(
        resumed_at=timezone.now(), resumed_how=how, resumed_by=user
    )


def _refused(action: str, message: str, user: Any, via: str, outcome: str = "refused") -> dict[str, Any]:
    audit.record(action=action, outcome=outcome, user=user, via=via, detail=message)
    logger.warning("%s %s: %s", action, outcome, message)
    return {"ok": False, "error": message}


def _user(user_id: int | None) -> Any:
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id).first()


# --- Web side -----------------------------------------------------------------------------


MAX_PAUSE_SECONDS = 24 * 3600


def pause_seconds(raw: Any) -> int:
    """How long a pause lasts: SNAPSHOT_PAUSE_SECONDS, or what the operator asked (1 s to 24 h)."""
    if raw is None or raw == "":
        return int(settings.SNAPSHOT_PAUSE_SECONDS)
    # A whole number, or its ASCII digits (a form field): not true, 2.7, 1e400 or "²".
    if isinstance(raw, int) and not isinstance(raw, bool):
        seconds = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        seconds = int(raw.strip())
    else:
        raise ValueError(f"{raw!r} is not a whole number of seconds.")
    if not 1 <= seconds <= MAX_PAUSE_SECONDS:
        raise ValueError(f"A pause lasts from 1 to {MAX_PAUSE_SECONDS} seconds, not {seconds}.")
    return seconds


def recorded_snapshot() -> dict[str, Any] | None:
    value: dict[str, Any] | None = cache.get(SNAPSHOT_KEY.format(settings.REGISTRY_CONTAINER))
    return value


def started_at(snapshot: dict[str, Any] | None) -> datetime | None:
    """The container's start time from the snapshot (docker's nanoseconds cut to microseconds)."""
    raw = (snapshot or {}).get("started_at") or ""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,6})?\d*(Z|[+-]\d\d:\d\d)?$", raw)
    if not match:
        return None
    return parse_datetime(match.group(1) + (match.group(2) or "") + (match.group(3) or "Z"))


def active_pause() -> RegistryPause | None:
    return RegistryPause.objects.filter(resumed_at=None).select_related("paused_by").first()


@dataclass
class WorkerAnswer:
    """What a task answered, or ``None`` when no worker answered within the wait."""

    result: dict[str, Any] | None
    waited: float

    @property
    def answered(self) -> bool:
        return self.result is not None


def ask_worker(task: Task, *args: Any, wait: float, expires: float = ACTION_EXPIRES) -> WorkerAnswer:
    """Send ``task(call_id, *args)`` and wait up to ``wait`` seconds for its answer."""
    call_id = uuid.uuid4().hex
    started = time.monotonic()
    queue.send(task, (call_id, *args), expires=expires)  # QueueUnavailable (503) without Redis
    key = ANSWER_KEY.format(call_id)
    while time.monotonic() - started < wait:
        result = cache.get(key)
        if result is not None:
            cache.delete(key)
            return WorkerAnswer(result, time.monotonic() - started)
        time.sleep(0.2)
    return WorkerAnswer(None, wait)


def fresh_snapshot(max_age: float, wait: float) -> dict[str, Any] | None:
    """The recorded snapshot if younger than ``max_age`` s, else ask a worker for a new one."""
    from maintenance.tasks import refresh_container

    snapshot = recorded_snapshot()
    if snapshot is not None and time.time() - snapshot.get("checked_at", 0) <= max_age:
        return snapshot
    try:
        reply = ask_worker(refresh_container, wait=wait, expires=ACTION_EXPIRES)
    except queue.QueueUnavailable:  # no Redis: show what is known (the pages carry the Redis banner)
        return snapshot
    return reply.result if reply.answered else snapshot


NO_WORKER = (
    "No Celery worker answered within {wait:g} s: only workers reach the Docker engine. "
    "Start one (make run starts web, worker and beat); the request was queued and expires in "
    f"{ACTION_EXPIRES} s."
)

"""What workers do to the registry container: inspect it, pause it for a snapshot, resume, restart.

Called from ``maintenance.tasks`` only (they open the Docker engine). Each act is recorded
in the audit log and, for a pause, a ``RegistryPause`` row with its deadline; the web side
reads the result from ``maintenance.snapshot``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from core import audit, worker
from jobs import lock, services
from jobs.models import Job
from maintenance import engine, registry_container, snapshot, task_names
from maintenance.models import RegistryPause
from maintenance.snapshot import EngineHealth, Snapshot

logger = logging.getLogger(__name__)


def record_snapshot(client: engine.DockerClient | None = None) -> Snapshot:
    """Inspect the registry container and store what the panel and diagnostics show."""
    previous: Snapshot = snapshot.recorded_snapshot() or {}
    try:
        own_client = client is None
        client = client or engine.connect()
        try:
            facts = registry_container.inspect_registry(client, settings.REGISTRY_LOG_LINES)
            current = cast(Snapshot, {"ok": True, "error": "", **facts})
        finally:
            if own_client:
                client.close()
    except engine.EngineError as e:
        current = Snapshot(ok=False, error=e.message, name=settings.REGISTRY_CONTAINER)
    if current.get("ok") and current.get("version") is None and previous.get("id") == current.get("id"):
        # Paused containers cannot run `registry --version` nor show their config file:
        # keep what the same container said before.
        for key in ("version", "version_raw", "config", "config_read"):
            current[key] = previous.get(key)  # type: ignore[typeddict-item]
    current["checked_at"] = time.time()
    snapshot.store_snapshot(current)
    return current


def record_engine_health() -> EngineHealth:
    """Reach the engine and the registry container, and store the answer for the health check."""
    host = engine.describe_host()
    try:
        client = engine.connect()
        try:
            container = engine.registry_container(client)
        finally:
            client.close()
    except engine.EngineError as e:
        health = EngineHealth(ok=False, host=host, detail=e.message)
    else:
        ok = container.status == "running"
        detail = f"Container '{container.name}' is {container.status} ({container.image})."
        if not ok:
            detail += " Start it (docker start) or check its logs."
        health = EngineHealth(ok=ok, host=host, detail=detail, container=container.name)
    health["checked_at"] = time.time()
    snapshot.store_engine_health(health)
    return health


def pause(user_id: int | None, seconds: int, via: str) -> dict[str, Any]:
    """Pause the registry for a snapshot and arrange its automatic resume.

    The deadline is written before pausing, so that the beat watchdog resumes the registry
    even if this worker dies right after ``docker pause``; the countdown task is the quick
    path, the watchdog the safety net.
    """
    user = _user(user_id)
    now = timezone.now()
    if busy := _gc_running():
        return _refused("registry-pause", busy, user, via)
    try:
        client = engine.connect()
    except engine.EngineError as e:
        return _refused("registry-pause", e.message, user, via)
    try:
        current = snapshot.active_pause()
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
        worker.send(task_names.RESUME_AFTER_PAUSE, pause.pk, countdown=seconds)
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
    """Why the container must be left alone now ('' when it need not): a GC, an update or a
    retention run holds it.

    Pausing or restarting mid-collection would break the GC's exec or its recreate.
    """
    job = Job.objects.filter(kind__in=services.HOLD_THE_CONTAINER, status=Job.Status.RUNNING).first()
    if job is None and not lock.gc_lock_held():
        return ""
    if job is not None and job.kind == Job.Kind.RETENTION:
        # Its deletes would fail against a paused or restarting registry, halfway through the plan.
        return f"A retention run (job {job.pk}) is deleting tags: wait until it ends (see /retention/), then try again."
    if job is not None and job.kind == Job.Kind.UPDATE:
        return (
            f"A registry update (job {job.pk}) is running: wait until it ends (see the Registry page), then try again."
        )
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

"""The Docker engine's part of the dashboard's health, as the workers see it.

The web process never opens the engine's socket (on the NAS it is root): a Celery worker
checks it every ENGINE_HEALTH_INTERVAL seconds and on demand (``tasks.check_engine``).
"""

from __future__ import annotations

import time
from typing import Any, cast

from django.conf import settings

from core.checks import Check
from core.worker import ask_worker
from maintenance import snapshot, task_names

# How long the web process waits for a worker to answer a fresh engine check.
ENGINE_ANSWER_WAIT = 4.0
#: How long a failed engine check disables the engine's actions on the pages without a new one.
ENGINE_STATE_TRUSTED_FOR = 5 * 60


def check_docker(done: dict[str, Check]) -> Check:
    """The engine as the workers last saw it; asks a worker afresh when that is stale."""
    if not done["broker"].ok:
        return Check(False, "Unknown: Redis is unreachable, so no worker can be asked about the Docker engine.")
    stale_after = 2 * settings.ENGINE_HEALTH_INTERVAL
    recorded = snapshot.recorded_engine_health()
    if recorded is None or time.time() - recorded["checked_at"] > stale_after:
        reply = ask_worker(task_names.CHECK_ENGINE, wait=ENGINE_ANSWER_WAIT)
        if not reply.answered:
            last = "" if recorded is None else f" (last answer {int(time.time() - recorded['checked_at'])} s ago)"
            return Check(
                False,
                f"No Celery worker answered within {ENGINE_ANSWER_WAIT:g} s{last}: only workers reach the "
                "Docker engine; start one (make run starts web, worker and beat).",
            )
        recorded = cast(snapshot.EngineHealth, reply.result)
    age = int(time.time() - recorded["checked_at"])
    extra: dict[str, Any] = {"host": recorded.get("host", ""), "checked_seconds_ago": age}
    return Check(bool(recorded["ok"]), recorded["detail"], extra=extra)


def engine_unreachable_reason() -> str | None:
    """Why the engine failed its last check (as a worker recorded it); None when it passed, or unknown.

    Read without asking a worker (``core.reachability``): a page must not wait on one. A record
    older than ``ENGINE_STATE_TRUSTED_FOR`` is not trusted to disable anything.
    """
    recorded = snapshot.recorded_engine_health()
    if recorded is None or recorded["ok"] or time.time() - recorded["checked_at"] > ENGINE_STATE_TRUSTED_FOR:
        return None
    return str(recorded["detail"])

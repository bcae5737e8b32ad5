"""Maintenance logic: engine health (recorded by workers, read by the web process)."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache

from maintenance import engine

ENGINE_HEALTH_KEY = "health:docker"


def check_engine() -> dict[str, Any]:
    """Reach the engine and the registry container; runs in a worker."""
    try:
        client = engine.connect()
        try:
            container = engine.registry_container(client)
        finally:
            client.close()
    except engine.EngineError as e:
        return {"ok": False, "host": engine.describe_host(), "detail": e.message}
    ok = container.status == "running"
    detail = f"Container '{container.name}' is {container.status} ({container.image})."
    if not ok:
        detail += " Start it (docker start) or check its logs."
    return {"ok": ok, "host": engine.describe_host(), "detail": detail, "container": container.name}


def record_engine_health() -> dict[str, Any]:
    result = {**check_engine(), "checked_at": time.time()}
    cache.set(ENGINE_HEALTH_KEY, result, timeout=None)
    return result


def recorded_engine_health() -> dict[str, Any] | None:
    value: dict[str, Any] | None = cache.get(ENGINE_HEALTH_KEY)
    return value

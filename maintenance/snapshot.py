"""The registry container as a worker last saw it: what pages, the API and the diagnostics read.

Only workers reach the Docker engine. They record a ``Snapshot`` of the container in the
cache (``maintenance.container_actions.record_snapshot``) and the engine's health
(``record_engine_health``); the web side reads them here, or asks a worker for a fresh
one and waits a few seconds (``core.worker.ask_worker``).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any, TypedDict, cast

from django.conf import settings
from django.core.cache import cache

from core.timestamps import parse_docker_time
from core.worker import QueueUnavailable, ask_worker
from inventory import files as inventory_files
from maintenance import task_names
from maintenance.models import RegistryPause

SNAPSHOT_KEY = "registry:container:{}"
ENGINE_HEALTH_KEY = "health:docker"
#: ``registry --version`` as the last GC run or snapshot saw it.
VERSION_CACHE_KEY = "gc:registry-version"
# A pause or restart nobody picked up within this long is dropped: acting minutes later,
# after the operator has gone, would surprise more than help.
ACTION_EXPIRES = 60
MAX_PAUSE_SECONDS = 24 * 3600
RELEASE_NOTES = "https://github.com/distribution/distribution/releases"
NO_WORKER = (
    "No Celery worker answered within {wait:g} s: only workers reach the Docker engine. "
    "Start one (make run starts web, worker and beat); the request was queued and expires in "
    f"{ACTION_EXPIRES} s."
)


class Snapshot(TypedDict, total=False):
    """The worker/web contract for the registry container, secrets masked.

    ``ok`` False means the container could not be inspected: then only ``error``, ``name``
    and ``checked_at`` are set. ``version``, ``version_raw`` and the config fields are None
    while the container is paused or stopped (no exec possible) and nothing older is known.
    """

    ok: bool
    error: str
    checked_at: float
    name: str
    id: str
    status: str
    running: bool
    paused: bool
    image: str
    image_id: str
    image_created: str
    image_version_label: str
    tag_image: dict[str, str] | None
    version_raw: str | None
    version: str | None
    started_at: str | None
    restart_policy: str
    restart_count: int
    network_mode: str
    ports: list[dict[str, str]]
    listen_port: int
    limits: dict[str, Any]
    log_config: dict[str, Any]
    config_read: bool
    config: dict[str, Any]
    env: list[list[str]]
    otel_traces_exporter: str
    exec_error: str
    engine: dict[str, Any]
    startup_log: list[str]
    log_lines: list[str]


class EngineHealth(TypedDict, total=False):
    """Whether a worker reached the engine and found the registry container running."""

    ok: bool
    host: str
    detail: str
    container: str
    checked_at: float


def recorded_snapshot() -> Snapshot | None:
    value: Snapshot | None = cache.get(SNAPSHOT_KEY.format(settings.REGISTRY_CONTAINER))
    return value


def store_snapshot(snapshot: Snapshot) -> None:
    cache.set(SNAPSHOT_KEY.format(settings.REGISTRY_CONTAINER), snapshot, timeout=None)
    driver = (snapshot.get("config") or {}).get("storage_driver") if snapshot.get("config_read") else None
    if driver:  # the inventory reads the storage files only on the filesystem driver (issue 24)
        cache.set(inventory_files.DRIVER_CACHE_KEY, driver, timeout=None)
    purging = (snapshot.get("config") or {}).get("upload_purging") if snapshot.get("config_read") else None
    if purging:  # when the registry removes upload leftovers, for the Storage page (issue 24)
        cache.set(inventory_files.UPLOAD_PURGING_CACHE_KEY, purging, timeout=None)


def fresh_snapshot(max_age: float, wait: float) -> Snapshot | None:
    """The recorded snapshot if younger than ``max_age`` s, else ask a worker for a new one."""
    snapshot = recorded_snapshot()
    if snapshot is not None and time.time() - snapshot.get("checked_at", 0) <= max_age:
        return snapshot
    try:
        reply = ask_worker(task_names.REFRESH_CONTAINER, wait=wait, expires=ACTION_EXPIRES)
    except QueueUnavailable:  # no Redis: show what is known (every page carries the Redis banner)
        return snapshot
    return cast(Snapshot, reply.result) if reply.answered else snapshot


def started_at(snapshot: Snapshot | None) -> datetime | None:
    """The container's start time from the snapshot (docker's nanoseconds cut to microseconds)."""
    return parse_docker_time((snapshot or {}).get("started_at"))


def recorded_engine_health() -> EngineHealth | None:
    value: EngineHealth | None = cache.get(ENGINE_HEALTH_KEY)
    return value


def store_engine_health(health: EngineHealth) -> None:
    cache.set(ENGINE_HEALTH_KEY, health, timeout=None)


def known_registry_version(ask_wait: float = 0.0) -> str:
    """The registry's ``registry --version`` as a worker last saw it (a GC run or the Registry page).

    With ``ask_wait`` > 0 and nothing known yet, a worker is asked for a fresh container
    snapshot (the web process never opens the engine itself); '' when none answers.
    """
    version: str = cache.get(VERSION_CACHE_KEY) or ""
    if not version:
        snapshot = fresh_snapshot(max_age=3600, wait=ask_wait) if ask_wait else recorded_snapshot()
        version = (snapshot or {}).get("version_raw") or ""
    return version


def is_v2(version: str) -> bool:
    """True for Distribution 2.x (``github.com/docker/distribution 2.8.2``), False for v3."""
    return "/v3" not in version and not re.search(r"\bv?3\.\d", version)


def registry_is_v2(ask_wait: float = 0.0) -> bool | None:
    """True for Distribution 2.x, False for v3, None while no worker has told us."""
    version = known_registry_version(ask_wait)
    return is_v2(version) if version else None


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


def active_pause() -> RegistryPause | None:
    return RegistryPause.objects.filter(resumed_at=None).select_related("paused_by").first()


def release_notes_url(version: str | None) -> str:
    """Distribution's release notes for ``3.1.1`` (its tag ``v3.1.1``); the list for anything else."""
    if version and re.fullmatch(r"\d+\.\d+\.\d+", version):
        return f"{RELEASE_NOTES}/tag/v{version}"
    return RELEASE_NOTES


def newer_image(seen: Snapshot | None) -> dict[str, str] | None:
    """The image the container's tag points to on the engine when it is newer than the running one.

    ``version`` is the image's ``org.opencontainers.image.version`` label when it has one
    (the official image has none: its version is known once it runs, after the update).
    """
    if not seen or not seen.get("ok"):
        return None
    tagged = seen.get("tag_image")
    running_created = parse_docker_time(seen.get("image_created"))
    if not tagged or tagged.get("id") == seen.get("image_id"):
        return None
    tagged_created = parse_docker_time(tagged.get("created"))
    if running_created and tagged_created and tagged_created <= running_created:
        return None
    version = tagged.get("version_label") or ""
    return {
        "id": tagged.get("id", ""),
        "created": tagged.get("created", ""),
        "version": version,
        "release_notes": release_notes_url(version.lstrip("v") if version else None),
    }

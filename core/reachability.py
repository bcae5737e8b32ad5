"""Can the registry, or the Docker engine, be reached? The last known answer, read without asking.

Pages must not wait on the registry: they read what the health checks last found. The
registry's check (``catalog.health``, run by the home page's health panel, the health API and
the notifications' watcher) and the engine's (``maintenance.health``, run by the workers) tell
their app's reader, registered here from ``AppConfig.ready`` (core imports no app). An unknown
state counts as reachable: the action then fails on its own, as before.

Actions that need one of them are disabled on the pages with the reason (the ``registry_problem``
and ``engine_problem`` of ``core.context_processors``), and ``jobs.services.queue`` refuses the
jobs that need them (``NEEDS``) with a 503 saying why when a person or a script asks (schedules
queue as before: their failed job says what was away).
"""

from __future__ import annotations

from collections.abc import Callable

from core.masking import mask_url

REGISTRY = "registry"
ENGINE = "engine"

_readers: dict[str, Callable[[], str | None]] = {}


def register(name: str, reader: Callable[[], str | None]) -> None:
    """``reader`` answers why ``name`` cannot be reached, as last seen, or None (reachable or unknown)."""
    _readers[name] = reader


def problem(name: str) -> str | None:
    """Why ``name`` (REGISTRY or ENGINE) could not be reached when last checked; None if it could, or unknown."""
    reader = _readers.get(name)
    return reader() if reader is not None else None


#: What each kind of job needs reachable before it is queued.
NEEDS: dict[str, tuple[str, ...]] = {
    "gc": (ENGINE,),
    "update": (ENGINE, REGISTRY),
    "verify": (ENGINE, REGISTRY),
    "sync": (REGISTRY,),
    "retention": (REGISTRY,),
    "stats": (REGISTRY,),
    "registry-login": (ENGINE,),
}

#: How the reason starts, by what is away.
NAMES = {REGISTRY: "The registry cannot be reached", ENGINE: "The Docker engine's check fails"}


def away(need: str) -> str | None:
    """Why an action cannot run now: ``need`` is a job kind (its ``NEEDS``) or REGISTRY/ENGINE itself.

    The first thing it needs that could not be reached, in words with credentials masked; None when
    all could be (or are unknown).
    """
    for name in NEEDS.get(need, (need,)):
        reason = problem(name)
        if reason:
            return f"{NAMES[name]}: {mask_url(reason)}"
    return None


def blocking(kind: str) -> str | None:
    """Why a job of ``kind`` is not queued now (``jobs.services.queue`` answers 503 with it), or None."""
    reason = away(kind)
    return f"Nothing was started. {reason}" if reason else None

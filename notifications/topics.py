"""What a rule can ask to hear of (topics), and which announcements (``core.notable``) each covers.

An announcement is what happened (a job ended, with its kind and status); a topic is what a
person cares about (a GC failed, any job failed). One announcement can fall under several
topics: a failed GC is "GC failed" and "any job failed", and a rule that asks for both still
sends one message for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import notable

TOPICS: dict[str, str] = {
    "push": "A tag pushed",
    "delete": "A tag or manifest deleted",
    "retention-run": "A retention run ended (its summary)",
    "gc-finished": "A garbage collection finished (bytes freed)",
    "gc-failed": "A garbage collection failed",
    "job-failed": "Any job failed or found problems",
    "registry": "The registry unreachable, and back",
    "disk-usage": "Disk usage of the registry's volume above the threshold",
    "events-gap": "A gap in the registry's events",
    "damage-found": "A restore check or scrub found damage",
    "login-lockout": "A login locked out",
    "token-created": "An API token or robot account created",
}

# Topics where the rule's repository patterns and tag expression apply.
FILTERED = ("push", "delete")


def _job(kind: str, facts: dict[str, Any], job_kind: str | None = None, status: str | None = None) -> bool:
    return (
        kind == notable.JOB_FINISHED
        and (job_kind is None or facts.get("job_kind") == job_kind)
        and (status is None or facts.get("status") == status)
    )


def _damage(kind: str, facts: dict[str, Any]) -> bool:
    if kind == notable.DAMAGE_FOUND:
        return True
    result = facts.get("result") if isinstance(facts.get("result"), dict) else {}
    return _job(kind, facts, "verify") and bool((result or {}).get("missing_count"))


_COVERS: dict[str, Callable[[str, dict[str, Any]], bool]] = {
    "push": lambda kind, facts: kind == notable.PUSH,
    "delete": lambda kind, facts: kind == notable.DELETE,
    "retention-run": lambda kind, facts: _job(kind, facts, "retention"),
    "gc-finished": lambda kind, facts: _job(kind, facts, "gc", "succeeded"),
    "gc-failed": lambda kind, facts: _job(kind, facts, "gc", "failed"),
    "job-failed": lambda kind, facts: _job(kind, facts, status="failed") or _job(kind, facts, status="warning"),
    "registry": lambda kind, facts: kind in (notable.REGISTRY_DOWN, notable.REGISTRY_UP),
    "disk-usage": lambda kind, facts: kind == notable.DISK_USAGE,
    "events-gap": lambda kind, facts: kind == notable.EVENTS_GAP,
    "damage-found": _damage,
    "login-lockout": lambda kind, facts: kind == notable.LOGIN_LOCKOUT,
    "token-created": lambda kind, facts: kind in (notable.TOKEN_CREATED, notable.ROBOT_CREATED),
}
assert set(_COVERS) == set(TOPICS)


def topics_of(kind: str, facts: dict[str, Any]) -> list[str]:
    """The topics an announcement falls under."""
    return [topic for topic, covers in _COVERS.items() if covers(kind, facts)]


def validate_topics(value: Any) -> list[str]:
    """The list of topics, each known, without repeats; ValueError saying what to change."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"Give at least one topic: {', '.join(TOPICS)}.")
    unknown = [item for item in value if not isinstance(item, str) or item not in TOPICS]
    if unknown:
        raise ValueError(f"Unknown topic {unknown[0]!r}: the topics are {', '.join(TOPICS)}.")
    return list(dict.fromkeys(value))

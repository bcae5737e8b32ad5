"""How a job reads for people, per kind: the app that defines a kind registers its sentences
(``maintenance.apps``, ``retention.apps``); the job pages and template tags ask here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobs.models import Job


@dataclass(frozen=True)
class Describer:
    outcome: Callable[[Job], str] | None = None
    why_nothing: Callable[[Job], str] | None = None
    params: Callable[[Job], str] | None = None


_describers: dict[str, Describer] = {}


def register(
    kind: str,
    *,
    outcome: Callable[[Job], str] | None = None,
    why_nothing: Callable[[Job], str] | None = None,
    params: Callable[[Job], str] | None = None,
) -> None:
    _describers[kind] = Describer(outcome, why_nothing, params)


def outcome(job: Job) -> str:
    """The job's result in one sentence; its status for a kind that says nothing more."""
    describer = _describers.get(job.kind)
    if describer is not None and describer.outcome is not None:
        return describer.outcome(job)
    return str(job.get_status_display())


def why_nothing(job: Job) -> str:
    """Why a successful run found nothing to do, and what would change that; '' otherwise."""
    describer = _describers.get(job.kind)
    return describer.why_nothing(job) if describer is not None and describer.why_nothing is not None else ""


def params(job: Job) -> str:
    describer = _describers.get(job.kind)
    if describer is not None and describer.params is not None:
        return describer.params(job)
    # In words for a kind that registers none: "policy name: web", never "policy_name=web".
    return ", ".join(f"{str(k).replace('_', ' ')}: {v}" for k, v in (job.params or {}).items())

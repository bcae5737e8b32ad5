"""Asking for a registry update or a verification, and what their jobs carry and say.

The Registry page and ``POST /api/v1/registry/update/`` / ``verify/`` queue them here through
``jobs.services.queue`` (what must not run meanwhile is its ``EXCLUDES``); a worker runs them
(``maintenance.update``, ``maintenance.verify``), checking the same conflicts again before it
changes anything. Nothing here touches the Docker engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from jobs import services
from jobs.models import Job
from maintenance import snapshot, task_names


class ImageDescription(TypedDict):
    image_id: str
    repo_digest: str
    version: str
    version_raw: str
    release_notes: str


class UpdateResult(TypedDict, total=False):
    """An update job's ``result``."""

    image: str
    old: ImageDescription
    new: ImageDescription
    status: str  # up-to-date, updated, rolled-back
    pulled: bool
    pull_error: str


class GcDryRunReport(TypedDict, total=False):
    exit_code: int
    ok: bool
    errors: list[str]
    referenced_eligible: list[str]
    summary: str


class VerifyResult(TypedDict, total=False):
    """A verification job's ``result``: what was checked, what is missing, GC's dry run."""

    tags_total: int
    source: str
    tags_checked: int
    manifests_checked: int
    blobs_checked: int
    missing_count: int
    missing: list[dict[str, str]]
    gc_dry_run: GcDryRunReport
    ok: bool
    scrub_job: int  # the scrub queued after it, when the worker reads the storage files


def snapshot_paused() -> str | None:
    """Why an update, a verification or a retention run must wait for a snapshot pause (``jobs.services``)."""
    pause = snapshot.active_pause()
    if pause is None:
        return None
    return (
        f"The registry is paused for a snapshot until {pause.deadline:%H:%M:%S}: resume it on the Registry "
        "page (or wait for the automatic resume), then try again."
    )


def request_update(*, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None) -> Job:
    """Queue an update of the registry container to the newest image of its tag (JobBusy, JobRequestError)."""
    return services.queue(task_names.UPDATE_REGISTRY, Job.Kind.UPDATE, {}, request=request, user=user)


def request_verify(*, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None) -> Job:
    """Queue a verification: every tag's manifest and blobs answer, and GC's dry run finds nothing broken."""
    return services.queue(task_names.VERIFY_REGISTRY, Job.Kind.VERIFY, {}, request=request, user=user)


def latest(kind: str) -> Job | None:
    """The newest job of ``kind`` (update or verify), for the Registry page."""
    return Job.objects.filter(kind=kind).select_related("user").first()


# --- What a finished job says -----------------------------------------------------------------


def outcome(job: Job) -> str:
    """The job page's sentence for an update or a verification."""
    result = job.result or {}
    if job.kind == Job.Kind.VERIFY and result.get("gc_dry_run") is not None:
        return verify_sentence(result)
    if job.kind == Job.Kind.UPDATE and job.status == Job.Status.WARNING:
        return job.error or "The update found problems."
    if job.kind == Job.Kind.UPDATE and job.status == Job.Status.SUCCEEDED:
        if result.get("status") == "up-to-date":
            return f"Already up to date: {result.get('image', 'the image')} is the image the registry runs."
        old, new = result.get("old") or {}, result.get("new") or {}
        return (
            f"Updated {result.get('image', 'the registry')}: {old.get('version', '?')} "
            f"({old.get('image_id', '')[:19]}) -> {new.get('version', '?')} ({new.get('image_id', '')[:19]})."
        )
    if job.status == Job.Status.FAILED:
        return job.error or "Failed."
    return str(job.get_status_display())


def verify_sentence(result: Mapping[str, Any]) -> str:
    """One sentence for a verification's report (its log and the job page)."""
    checked = (
        f"{result.get('tags_checked', 0)} tags, {result.get('manifests_checked', 0)} manifests and "
        f"{result.get('blobs_checked', 0)} blobs checked"
    )
    dry = result.get("gc_dry_run") or {}
    problems = []
    if result.get("missing_count"):
        problems.append(f"{result['missing_count']} missing")
    if dry and not dry.get("ok"):
        problems.append(f"garbage-collect --dry-run failed (exit {dry.get('exit_code')})")
    if problems:
        return f"Verification found problems: {', '.join(problems)} ({checked})."
    return f"Verified: nothing is missing ({checked}); garbage-collect --dry-run finds nothing broken."

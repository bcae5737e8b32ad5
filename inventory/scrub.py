"""The scrub as a job (issue 24): every blob under REGISTRY_DATA_DIR read and checked against its
sha256, every manifest's references checked present (``registry_files.scrub``), at SCRUB_MAX_MBPS
and incrementally (``VerifiedBlob``: a blob verified before and unchanged since is skipped).

Queued on demand (the Registry page's button for admins, ``POST /api/v1/scrub/``), by beat every
SCRUB_INTERVAL_HOURS (off by default) and by the restore check (``maintenance.verify``) when the
worker reads the storage files. It reports each damaged or missing blob with the tags and images
it breaks and what to do (push those tags again); it never repairs. The findings of the newest
finished scrub are the home page's until a later scrub clears them (``latest_findings``), and
damage is announced (``core.notable.DAMAGE_FOUND``).

Only another scrub excludes a scrub (``jobs.services.EXCLUDES``): it only reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from core import notable
from inventory import files, task_names
from inventory.models import VerifiedBlob
from jobs import runner, services
from jobs.models import Job
from registry_files import scrub as files_scrub

logger = logging.getLogger(__name__)

#: A scrub job's soft time limit: at 50 MB/s, about 1 TB read.
SCRUB_TIME_LIMIT = 6 * 3600
#: Findings kept in the job's result and shown (the counts are always complete).
REPORT_LIMIT = 500


class ScrubUnavailable(services.JobRequestError):
    """The storage files cannot be read: no scrub (409, naming REGISTRY_DATA_DIR)."""


class ScrubParams(TypedDict):
    reason: str  # manual, schedule, restore check


class ScrubResult(TypedDict, total=False):
    """A scrub job's ``result``."""

    blobs: int
    read_blobs: int
    read_bytes: int
    skipped_blobs: int
    damaged: int
    missing: int
    findings: list[dict[str, Any]]
    seconds: float
    slept_seconds: float
    max_mbps: int
    data_dir: str


def unavailable() -> str | None:
    """Why no scrub can run (the button's and the API's reason), or None.

    The web process has no REGISTRY_DATA_DIR of its own in compose (only the worker mounts the
    files): the last sync's word counts when the web's setting is empty.
    """
    if settings.REGISTRY_DATA_DIR:
        return None
    recorded = files.recorded_source()
    if recorded is not None and recorded["source"] == "files":
        return None
    return (
        "The scrub reads the registry's storage files: set REGISTRY_DATA_DIR for the worker (the registry's data "
        "directory mounted read-only, see the README's NAS section)."
        + (f" The last sync said: {recorded['reason']}" if recorded is not None else "")
    )


def queue_scrub(
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    reason: str = "manual",
) -> Job:
    """Queue a scrub: ScrubUnavailable (409) without the storage files, JobBusy when one is queued or running."""
    why = unavailable()
    if why is not None:
        raise ScrubUnavailable(why)
    params: ScrubParams = {"reason": reason}
    return services.queue(task_names.RUN_SCRUB, Job.Kind.SCRUB, params, request=request, user=user)


class ScrubJob(runner.JobRunner[ScrubResult]):
    """One scrub on a worker: read, check, record what is proved, report what is broken."""

    kind = Job.Kind.SCRUB

    def run(self) -> ScrubResult:
        found = files.source()
        if found.files is None:
            raise runner.JobFailed(f"No scrub: {found.reason}", logged=True)
        storage = found.files
        max_mbps = settings.SCRUB_MAX_MBPS
        verified = {
            digest: (size, mtime)
            for digest, size, mtime in VerifiedBlob.objects.values_list("digest", "size", "mtime_ns")
        }
        limit = f"at most {max_mbps} MB/s" if max_mbps else "with no rate limit (SCRUB_MAX_MBPS=0)"
        self.log(
            f"Scrubbing {storage.root}: every blob read {limit}; "
            f"{len(verified):,} verified before are skipped while unchanged."
        )

        def progress(done: int, read: int, skipped: int) -> None:
            self.log(f"{done:,} blobs: {read:,} read, {skipped:,} skipped (verified and unchanged).")

        outcome = files_scrub.scrub(storage, verified, max_mbps=max_mbps, progress=progress)
        self._remember(verified, outcome.verified)
        findings = [finding.as_dict() for finding in outcome.findings]
        for item in outcome.findings[:REPORT_LIMIT]:
            breaks = ", ".join(item.tags[:10]) or "no tag"
            advice = item.advice()
            self.log(f"{item.problem.upper()} {item.digest}: {item.detail}; breaks {breaks}. {advice}")
        damaged = sum(1 for finding in findings if finding["problem"] == "damaged")
        result = ScrubResult(
            blobs=outcome.read_blobs + outcome.skipped_blobs,
            read_blobs=outcome.read_blobs,
            read_bytes=outcome.read_bytes,
            skipped_blobs=outcome.skipped_blobs,
            damaged=damaged,
            missing=len(findings) - damaged,
            findings=findings[:REPORT_LIMIT],
            seconds=round(outcome.seconds, 3),
            slept_seconds=outcome.slept,
            max_mbps=max_mbps,
            data_dir=str(storage.root),
        )
        self.result = result
        self.log(sentence(result))
        return result

    def _remember(self, before: dict[str, tuple[int, int]], now: dict[str, tuple[int, int]]) -> None:
        """Keep what this scrub proved: new or changed blobs written, those gone or damaged dropped."""
        stamp = timezone.now()
        changed = [
            VerifiedBlob(digest=digest, size=size, mtime_ns=mtime, verified_at=stamp)
            for digest, (size, mtime) in now.items()
            if before.get(digest) != (size, mtime)
        ]
        gone = [digest for digest in before if digest not in now]
        with transaction.atomic():
            for start in range(0, len(gone), 500):
                VerifiedBlob.objects.filter(digest__in=gone[start : start + 500]).delete()
            VerifiedBlob.objects.bulk_create(
                changed,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["digest"],
                update_fields=["size", "mtime_ns", "verified_at"],
            )

    def after(self, result: ScrubResult) -> None:
        count = result.get("damaged", 0) + result.get("missing", 0)
        if count:
            notable.announce(
                notable.DAMAGE_FOUND,
                source="The storage scrub",
                detail=sentence(result),
                count=count,
                path=self.job.get_absolute_url(),
            )


def sentence(result: ScrubResult | dict[str, Any]) -> str:
    """One sentence for a scrub's result (its log, the job page)."""
    checked = (
        f"{result.get('read_blobs', 0):,} blobs read ({result.get('read_bytes', 0):,} bytes), "
        f"{result.get('skipped_blobs', 0):,} skipped as verified and unchanged"
    )
    damaged, missing = result.get("damaged", 0), result.get("missing", 0)
    if damaged or missing:
        return (
            f"The scrub found {damaged} damaged and {missing} missing blob{'s' if damaged + missing != 1 else ''} "
            f"({checked}): push the tags listed again, then scrub again."
        )
    return f"Every blob is intact and every reference present ({checked})."


def outcome(job: Job) -> str:
    if job.status == Job.Status.SUCCEEDED and isinstance(job.result, dict):
        return sentence(job.result)
    if job.status == Job.Status.FAILED:
        return job.error or "Failed."
    return str(job.get_status_display())


@dataclass(frozen=True)
class Findings:
    """What the newest finished scrub found, for the home page (empty findings: nothing shown)."""

    job: Job
    findings: list[dict[str, Any]]
    damaged: int
    missing: int


def latest_findings() -> Findings | None:
    """The newest successful scrub's findings, when it found any; a later clean scrub clears them."""
    job = Job.objects.filter(kind=Job.Kind.SCRUB, status=Job.Status.SUCCEEDED).order_by("-finished_at").first()
    if job is None or not isinstance(job.result, dict):
        return None
    damaged, missing = int(job.result.get("damaged", 0)), int(job.result.get("missing", 0))
    if not damaged and not missing:
        return None
    return Findings(job, list(job.result.get("findings") or []), damaged, missing)


def latest() -> Job | None:
    """The newest scrub job, for the Registry page."""
    return Job.objects.filter(kind=Job.Kind.SCRUB).select_related("user").first()


class ScrubStatus(TypedDict):
    """``GET /api/v1/scrub/``: whether a scrub can run, the one queued or running, the last finished one."""

    files_readable: bool
    files_reason: str
    running: services.JobReference | None
    last: dict[str, Any] | None


def status(request: HttpRequest | None = None) -> ScrubStatus:
    """The scrub's state for scripts: the storage files' word, the active scrub, the newest finished one
    with its counts and findings (what the home page shows, without asking the jobs list)."""
    readable, reason = _files_word()
    scrubs = Job.objects.filter(kind=Job.Kind.SCRUB)
    active = scrubs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).order_by("-created_at").first()
    done = scrubs.exclude(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).order_by("-finished_at", "-pk").first()
    return ScrubStatus(
        files_readable=readable,
        files_reason=reason,
        running=services.job_reference(request, active) if active is not None else None,
        last=_finished(request, done) if done is not None else None,
    )


def _files_word() -> tuple[bool, str]:
    """Whether the storage files can be read, and why (not): this process's REGISTRY_DATA_DIR when it
    has one, else the last sync's word (in compose only the worker mounts the files)."""
    if settings.REGISTRY_DATA_DIR:
        found = files.source()
        return found.files is not None, found.reason
    why = unavailable()
    if why is not None:
        return False, why
    recorded = files.recorded_source()
    return True, str(recorded["reason"]) if recorded is not None else ""


def _finished(request: HttpRequest | None, job: Job) -> dict[str, Any]:
    result: dict[str, Any] = job.result if isinstance(job.result, dict) else {}
    counts = ("blobs", "read_blobs", "read_bytes", "skipped_blobs", "damaged", "missing")
    findings = list(result.get("findings") or [])
    return {
        "job": services.job_reference(request, job),
        "reason": str((job.params or {}).get("reason", "")),
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "outcome": outcome(job),
        **{name: result.get(name) for name in counts},
        "seconds": result.get("seconds"),
        "max_mbps": result.get("max_mbps"),
        "findings": findings,
        "findings_truncated": len(findings) < int(result.get("damaged") or 0) + int(result.get("missing") or 0),
    }

"""Asking for a garbage collection: its parameters, one at a time, the queued job, what a dry run found.

The page, the API and the schedules (``maintenance.schedules.fire``) queue a GC here, through
``jobs.services.queue`` (which says what a GC must wait for); a worker runs it
(``maintenance.gc``). Nothing here touches the Docker engine.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

from core.errors import ActionableError, InvalidFields
from core.models import AuditEntry
from jobs import services
from jobs.models import Job
from maintenance import snapshot, task_names
from registry_client.references import attached_to

MODES = ("read-only", "stop", "online")
DELETE_UNTAGGED_ON_V2 = (
    "--delete-untagged is refused on Distribution 2.x: it deletes the platform manifests of "
    "multi-arch images (distribution#3178, #3004), fixed in v3.0.0. Upgrade the registry to "
    "registry:3 to use it."
)


class GcError(ActionableError):
    """A GC request or run that cannot go on; the message says why and what to do (400 to a request)."""

    status = 400


class DeleteUntaggedRefused(GcError):
    """--delete-untagged asked of a Distribution 2.x registry: a well-formed request this registry's
    version cannot carry out, a conflict (409) rather than bad input; ``delete_untagged`` says why."""

    status = 409

    def body(self, request: HttpRequest | None = None) -> dict[str, Any]:
        return {**super().body(request), "delete_untagged": self.message}


class UntaggedFigures(TypedDict):
    """What a dry run with --delete-untagged would free on registry:3."""

    manifests: int
    blobs: int
    bytes: int | None


class BlobAndTags(TypedDict):
    blob: str
    tags: list[str]


class CheckBeforeSweep(TypedDict):
    """The sweep's dry run against what the storage files show the tags reaching (issue 24)."""

    eligible: int
    reached_by_tags: int
    overlap: list[BlobAndTags]


class CheckAfterSweep(TypedDict):
    """Every blob a tag reaches, stat'ed in the storage files after the sweep (issue 24)."""

    reached_blobs: int
    present: int
    missing: list[BlobAndTags]
    missing_before: int


class GcResult(TypedDict, total=False):
    """A GC job's ``result``: what the run found and freed (fields appear as the run gets there)."""

    mode: str
    version: str
    config: str
    data_root: str
    exit_code: int
    blobs_marked: int
    blobs_eligible: int
    manifests_eligible: int
    bytes_before: int | None
    bytes_after: int | None
    bytes_freed: int
    blobs_unmeasured: int  # swept blobs its dry run had not listed: not in bytes_freed
    bytes_eligible: int | None
    untagged: UntaggedFigures
    read_only_seconds: float
    downtime_seconds: float
    redis_keys_deleted: int
    storage_files: dict[str, str]  # {"source": files|http, "reason"}
    check_before_sweep: CheckBeforeSweep
    check_after_sweep: CheckAfterSweep


class GcParamsInvalid(InvalidFields):
    """A GC request's fields that are not valid (400, each field with its message)."""


@dataclass(frozen=True)
class GcParams:
    dry_run: bool = False
    delete_untagged: bool = False
    mode: str = "read-only"

    @classmethod
    def parse(cls, data: Any) -> GcParams:
        """Validated parameters from a request body or schedule; GcParamsInvalid({field: message})."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise GcParamsInvalid({"non_field_errors": "Expected a JSON object."})
        errors: dict[str, str] = {}
        unknown = sorted(set(data) - {"dry_run", "delete_untagged", "mode"})
        for name in unknown:
            errors[name] = "Unknown field: the parameters are dry_run, delete_untagged and mode."
        values: dict[str, Any] = {}
        for name in ("dry_run", "delete_untagged"):
            value = data.get(name, False)
            if not isinstance(value, bool):
                errors[name] = "Must be true or false."
            values[name] = value
        mode = data.get("mode", "read-only")
        if mode not in MODES:
            errors["mode"] = f"Must be one of {', '.join(MODES)}."
        values["mode"] = mode
        if errors:
            raise GcParamsInvalid(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def command(self, config: str) -> list[str]:
        # Never --quiet: 2.x does not know it and then prints usage and exits 0 (REGISTRY-FACTS.md).
        flags = (["--dry-run"] if self.dry_run else []) + (["--delete-untagged"] if self.delete_untagged else [])
        return ["registry", "garbage-collect", *flags, config]


def active_job() -> Job | None:
    return services.active(Job.Kind.GC)


def request_gc(
    params: GcParams,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    scheduled: bool = False,
) -> Job:
    """Queue a GC job (``scheduled``: beat asked for it): GcError when this registry cannot do it,
    JobBusy naming what is queued or running (another GC, its lock, an update, a verification or
    a retention run), JobRequestError."""
    # Refused up front on 2.x; when no worker can say which version runs, the worker refuses
    # the job before it changes anything.
    if params.delete_untagged and snapshot.registry_is_v2(ask_wait=5.0):
        raise DeleteUntaggedRefused(DELETE_UNTAGGED_ON_V2)
    try:
        return services.queue(
            task_names.RUN_GC, Job.Kind.GC, params.as_dict(), request=request, user=user, scheduled=scheduled
        )
    except services.QueueContended as e:
        # The GC API has answered a contended queueing lock with 400 since before errors carried
        # their status; its clients keep that answer.
        raise services.QueueContended(e.message, status=400) from e


def preview() -> Job | None:
    """The newest successful dry run, if no real run came after it: what a real run would free."""
    last_dry = (
        Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=True)
        .order_by("-finished_at")
        .first()
    )
    if last_dry is None:
        return None
    later_real = Job.objects.filter(
        kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=False, finished_at__gt=last_dry.finished_at
    ).exists()
    return None if later_real else last_dry


def eligible_blobs(job: Job) -> list[str]:
    return re.findall(r"blob eligible for deletion: (\S+)", job.output)


# --- The results for people (issue 17) ---------------------------------------------------


def _size(value: int | None) -> str:
    return str(filesizeformat(value)) if value is not None else "an unknown amount"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Deleted:
    """What the dashboard deleted in a repository since the previous real run: images (their
    manifests' digests) and, counted with them, the artifacts attached to them (issue 15)."""

    images: frozenset[str]
    artifacts: frozenset[str]


def deleted(job: Job) -> dict[str, Deleted]:
    """Manifests deleted through the dashboard since the previous real run, by repository.

    What a collection frees comes from these deletes (and from untagged manifests with
    --delete-untagged); the audit log's fields name them, the registry's GC output does not. A
    signature, attestation, SBOM or referrers tag (``sha256-<hex>[.sig|.att|.sbom]``) and an
    artifact attached by digest belong to their image: counted with it, never as an image.
    """
    until = job.started_at or job.created_at
    previous = (
        Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=False, finished_at__lt=until)
        .exclude(pk=job.pk)
        .order_by("-finished_at")
        .first()
    )
    entries = AuditEntry.objects.filter(
        action__in=["delete-tag", "delete-manifest"], outcome="succeeded", created_at__lte=until
    ).exclude(digest="")
    if previous is not None and previous.finished_at is not None:
        entries = entries.filter(created_at__gt=previous.finished_at)
    images: dict[str, set[str]] = {}
    artifacts: dict[str, set[str]] = {}
    # The fields the deletes record (catalog.deletion.audit): a tag deleted alone freed nothing.
    for repository, tag, digest, fields in entries.values_list("repository", "tag", "digest", "fields"):
        if not isinstance(fields, dict) or not fields.get("deleted_manifests"):
            continue
        artifacts.setdefault(repository, set()).update(fields.get("attached") or ())
        if attached_to(tag) is not None:
            artifacts.setdefault(repository, set()).add(digest)
        else:
            images.setdefault(repository, set()).add(digest)
    return {
        repository: Deleted(frozenset(images.get(repository, ())), frozenset(artifacts.get(repository, ())))
        for repository in sorted(set(images) | set(artifacts))
    }


def deleted_images(job: Job) -> dict[str, int]:
    """Images deleted through the dashboard since the previous real run: {repository: count};
    their attached artifacts are not images (see ``deleted``)."""
    return {repository: len(found.images) for repository, found in deleted(job).items() if found.images}


def _images_in(repository: str, found: Deleted) -> str:
    images = _plural(len(found.images), "image")
    if not found.artifacts:
        return f"{images} in {repository}"
    its = "its" if len(found.images) == 1 else "their"
    return f"{images} in {repository} (with {its} {_plural(len(found.artifacts), 'attached artifact')})"


def outcome(job: Job) -> str:
    """The run's result in one sentence: "Freed 51 KB from 3 images in acc/many"."""
    result = job.result or {}
    if job.status == Job.Status.FAILED:
        return f"Failed: {job.error}" if job.error else "Failed."
    if job.status not in (Job.Status.SUCCEEDED, Job.Status.WARNING) or result.get("blobs_eligible") is None:
        return "Queued." if job.status == Job.Status.QUEUED else "Running…"
    blobs, manifests = result.get("blobs_eligible", 0), result.get("manifests_eligible", 0)
    parts = _plural(blobs, "blob") + (f" and {_plural(manifests, 'untagged manifest')}" if manifests else "")
    found = {repo: item for repo, item in deleted(job).items() if item.images}
    where = ""
    if found:
        where = " from " + ", ".join(_images_in(repo, item) for repo, item in list(found.items())[:3])
        if len(found) > 3:
            where += f" and {len(found) - 3} more repositories"
    if (job.params or {}).get("dry_run"):
        if not blobs:
            return "Dry run: nothing to free."
        return f"Dry run: a real run would free {_size(result.get('bytes_eligible'))} ({parts}){where}."
    if not blobs:
        return "Nothing to free: every blob was still in use."
    return f"Freed {_size(result.get('bytes_freed'))} ({parts}){where}."


def why_nothing(job: Job) -> str:
    """Why a successful run found nothing to free, and what would free something; '' otherwise."""
    result = job.result or {}
    if job.status != Job.Status.SUCCEEDED or result.get("blobs_eligible", 1) != 0:
        return ""
    untagged = result.get("untagged") or {}
    if untagged.get("manifests"):
        return (
            f"Every blob belongs to a manifest, but {_plural(untagged['manifests'], 'manifest')} no tag names any "
            f"more (tags deleted on registry:3 leave their manifest behind). A run with “Delete untagged "
            f"manifests” would free {_size(untagged.get('bytes'))} ({_plural(untagged.get('blobs', 0), 'blob')})."
        )
    if (job.params or {}).get("delete_untagged"):
        return "Every blob belongs to a tagged manifest: delete images in the catalog first, then collect."
    version = str(result.get("version") or "")
    if version and snapshot.is_v2(version):
        return (
            "Every blob belongs to a manifest. Deleting an image's last tag in the catalog deletes its manifest "
            "on this registry; the next collection then frees its layers."
        )
    return (
        "Every blob belongs to a manifest and no manifest is untagged: delete images in the catalog first "
        "(with “Also delete the untagged manifest” ticked), then collect."
    )


def params_text(job: Job) -> str:
    """``dry run · read-only · deletes untagged manifests``."""
    params = job.params or {}
    words = ["dry run" if params.get("dry_run") else "real run", str(params.get("mode", "read-only"))]
    if params.get("delete_untagged"):
        words.append("deletes untagged manifests")
    return " · ".join(words)

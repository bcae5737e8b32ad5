"""Statistics of the registry as a worker collects them: one sample from three sources.

A sample joins the engine (``docker stats`` of the container, computed as the docker CLI
does), the container's data root (``du`` and a blob count, run inside the container) and
the registry's content (repositories, tags, compressed bytes) through the catalog
service's cache. Pages and the API read the samples through ``maintenance.stats``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Collate
from django.utils import timezone

from catalog.blobs import content_blobs
from core import notable
from inventory import sync as inventory_sync
from inventory.models import Attachment, Blob, Event, Manifest, ManifestBlob, ManifestChild, Repository, Tag
from jobs import runner
from jobs.models import Job
from maintenance import container_actions, engine, registry_container, snapshot, stats
from maintenance.models import StatsSample
from registry_client.client import RegistryError, RegistryNotFound, get_client

logger = logging.getLogger(__name__)

LARGEST_KEPT = 10
# The data root's walk (du and a blob count in the container) a scheduled sample may reuse while
# nothing can have changed the files: no push, mount or delete event, no GC, update or retention
# job, the same inventory and container (issue 28). Walked again at least this often all the same
# (an abandoned upload leaves no event); "Collect now" always walks.
WALK_KEY = "registry-admin:stats:data-root-walk"
WALK_MAX_AGE = timedelta(hours=1)
CHANGES_FILES = (Job.Kind.GC, Job.Kind.UPDATE, Job.Kind.RETENTION)


# --- Content: repositories, tags and the bytes they reference ---------------------------


@dataclass
class RegistryContent:
    """What the registry holds: counts and the compressed bytes its tags reference."""

    repository_count: int = 0
    tag_count: int = 0
    total_bytes: int = 0
    unique_bytes: int = 0
    largest_repositories: list[dict[str, Any]] = field(default_factory=list)
    # Every repository's figures, largest first, from the registry walk only (before the first
    # sync); the sample keeps only the top LARGEST_KEPT.
    repositories: list[dict[str, Any]] = field(default_factory=list)


def content_summary() -> RegistryContent:
    """Count repositories and tags and add up the compressed bytes their manifests reference.

    ``total_bytes`` adds each tag's blobs; ``unique_bytes`` counts each blob once across the
    registry, as the data root stores it. The blobs are the catalog's (``content_blobs``:
    attestations left out, as in the sizes the catalog shows), through its caches and thread
    pool. The repository names come from the registry itself rather than the catalog's
    repository list, which is served stale: a sample counts what is there now.

    Once the inventory has synced, the figures are the inventory's (kept current by the
    registry's events and the periodic sync), without a registry request.
    """
    if inventory_sync.synced_once():
        return _inventory_summary()
    summary = RegistryContent()
    everywhere: dict[str, int] = {}
    per_repository: list[dict[str, Any]] = []
    for name in get_client().catalog():
        try:
            tags = content_blobs(name)
        except RegistryNotFound:
            continue  # listed in _catalog but gone (its directory removed by hand)
        summary.repository_count += 1
        summary.tag_count += len(tags)
        in_repository: dict[str, int] = {}
        for blobs in tags.values():
            summary.total_bytes += sum(blobs.values())
            in_repository.update(blobs)
        everywhere.update(in_repository)
        per_repository.append({"name": name, "unique_bytes": sum(in_repository.values()), "tags": len(tags)})
    summary.unique_bytes = sum(everywhere.values())
    per_repository.sort(key=lambda r: (-r["unique_bytes"], r["name"]))
    summary.repositories = per_repository
    summary.largest_repositories = per_repository[:LARGEST_KEPT]
    return summary


# The SQL below is put together from table names only; no value goes into it.
# The blobs the registry's tags and attachments reach, an index's children (by digest) included,
# each counted once across the registry, as the data root stores it (each repository's own
# figure is ``Repository.size``, kept by ``inventory.sync.refresh_repositories``).
_TOTALS = """
WITH named AS (SELECT manifest_id AS manifest FROM {tag} UNION SELECT manifest_id FROM {attachment}),
reached AS (
  SELECT manifest FROM named
  UNION SELECT m.id FROM named n JOIN {child} c ON c.parent_id = n.manifest JOIN {manifest} m ON m.digest = c.digest
)
SELECT (SELECT COUNT(*) FROM {repository}), (SELECT COUNT(*) FROM {tag}),
  (SELECT COALESCE(SUM(size), 0) FROM {tag}),
  (SELECT COALESCE(SUM(b.size), 0) FROM {blob} b WHERE b.id IN (
    SELECT mb.blob_id FROM {manifest_blob} mb WHERE mb.manifest_id IN (SELECT manifest FROM reached)))
"""


def _inventory_summary() -> RegistryContent:
    """The counts and the registry-wide bytes aggregated in SQL, and the largest repositories read
    from their kept ``size``: two queries whatever the number of repositories, a scheduled sample
    at 10,000 repositories holds ten rows, not a list of every repository (issue 28).
    ``repositories`` stays empty: only the registry walk lists them all."""
    tables = {
        "tag": Tag._meta.db_table,
        "attachment": Attachment._meta.db_table,
        "child": ManifestChild._meta.db_table,
        "manifest": Manifest._meta.db_table,
        "manifest_blob": ManifestBlob._meta.db_table,
        "blob": Blob._meta.db_table,
        "repository": Repository._meta.db_table,
    }
    tag_count = Tag.objects.filter(repository=OuterRef("pk")).order_by().values("repository").annotate(n=Count("pk"))
    # Names in code-point order, as Python sorts them (PostgreSQL's default collation does not).
    by_name = Collate("name", "C") if connection.vendor == "postgresql" else F("name")
    largest = (
        Repository.objects.annotate(tag_count=Coalesce(Subquery(tag_count.values("n")), 0))
        .order_by("-size", by_name)
        .values_list("name", "size", "tag_count")[:LARGEST_KEPT]
    )
    with transaction.atomic(), connection.cursor() as cursor:  # both queries read one state
        cursor.execute(_TOTALS.format(**tables))
        repositories, tags, total_bytes, unique_bytes = cursor.fetchone()
        top = [{"name": name, "unique_bytes": size, "tags": count} for name, size, count in largest]
    return RegistryContent(
        repository_count=repositories,
        tag_count=tags,
        total_bytes=int(total_bytes),
        unique_bytes=int(unique_bytes),
        largest_repositories=top,
    )


# --- Collecting a sample -------------------------------------------------------------------


def collect(log: Callable[[str], None] = lambda line: None, *, reuse_walk: bool = False) -> StatsSample:
    """Measure everything that can be measured now and store it as one sample.

    Runs in a worker. Each source fails on its own: its fields stay null and ``errors``
    says why, so a paused container still gives CPU and memory. ``reuse_walk`` (the schedule):
    the data root's size and blob count from the last walk when nothing can have changed them
    since (``unchanged_walk``); the volume's use is read each time.
    """
    sample = StatsSample(collected_at=timezone.now())
    errors: list[str] = []
    try:
        client = engine.connect()
    except engine.EngineError as e:
        client = None
        errors.append(e.message)
        log(f"engine: {e.message}")
    if client is not None:
        try:
            _measure_container(client, sample, errors, log, reuse_walk)
        finally:
            client.close()
    paused = bool((snapshot.recorded_snapshot() or {}).get("paused"))
    if paused:
        errors.append("The registry is paused: repositories and tags were not counted.")
        log("registry: paused, content not counted")
    else:
        try:
            content = content_summary()
        except RegistryError as e:
            errors.append(f"registry: {e.message}")
            log(f"registry: {e.message}")
        else:
            sample.repository_count = content.repository_count
            sample.tag_count = content.tag_count
            sample.total_bytes = content.total_bytes
            sample.unique_bytes = content.unique_bytes
            sample.largest_repositories = content.largest_repositories
            log(
                f"content: {content.repository_count} repositories, {content.tag_count} tags, "
                f"{content.unique_bytes} unique bytes ({content.total_bytes} by tag)"
            )
    sample.errors = errors
    sample.save()
    return sample


def _measure_container(
    client: engine.DockerClient, sample: StatsSample, errors: list[str], log: Callable[[str], None], reuse_walk: bool
) -> None:
    seen = container_actions.record_snapshot(client)
    if not seen.get("ok"):
        errors.append(seen["error"])
        log(f"container: {seen['error']}")
        return
    log(f"container: {seen['name']} {seen['status']} ({seen['image']}, {seen.get('version')})")
    try:
        usage = engine.resource_usage(client)
    except engine.EngineError as e:
        errors.append(e.message)
        log(f"stats: {e.message}")
    else:
        for name, value in usage.__dict__.items():
            setattr(sample, name, value)
        log(
            f"stats: cpu {usage.cpu_percent:.2f} %, memory {usage.memory_bytes} of {usage.memory_limit_bytes} bytes, "
            f"{usage.pids} processes"
        )
    if seen.get("paused"):
        errors.append("The registry is paused: its storage was not measured (no exec into a paused container).")
        return
    known = unchanged_walk(seen.get("id") or "") if reuse_walk else None
    state, started = _files_state(), timezone.now()
    try:
        storage = registry_container.measure_storage(
            client, (seen.get("config") or {}).get("data_root") or registry_container.DEFAULT_DATA_ROOT, known
        )
    except engine.EngineError as e:
        errors.append(e.message)
        log(f"storage: {e.message}")
    else:
        sample.storage_bytes = storage.bytes
        sample.blob_count = storage.blob_count
        if known is None:
            walked = {"at": started.isoformat(), "container": seen.get("id") or "", "state": state}
            cache.set(WALK_KEY, {**walked, "bytes": storage.bytes, "blob_count": storage.blob_count}, timeout=None)
            log(f"storage: {storage.bytes} bytes, {storage.blob_count} blobs")
        else:
            log(f"storage: {storage.bytes} bytes, {storage.blob_count} blobs (unchanged since the last walk)")
        if storage.volume_percent is not None:
            log(f"volume: {storage.volume_used_bytes} of {storage.volume_total_bytes} bytes used")
            notable.announce(
                notable.DISK_USAGE,
                percent=storage.volume_percent,
                used_bytes=storage.volume_used_bytes,
                total_bytes=storage.volume_total_bytes,
            )


def _files_state() -> list[int | None]:
    """What the inventory holds, as a few numbers a push, a delete or a sync changes."""
    tags = Tag.objects.aggregate(n=Count("id"), last=Max("id"))
    manifests = Manifest.objects.aggregate(n=Count("id"), last=Max("id"))
    return [tags["n"], tags["last"], manifests["n"], manifests["last"]]


def unchanged_walk(container_id: str) -> tuple[int, int] | None:
    """(bytes, blobs) of the last walk of the data root when nothing can have changed them since:
    the same container, walked less than WALK_MAX_AGE ago, the registry's events trusted (on,
    applied, no gap) with none but pulls received since, no GC, update or retention job since,
    and the same inventory. None: walk again."""
    walked: dict[str, Any] | None = cache.get(WALK_KEY)
    if not walked or not container_id or walked.get("container") != container_id:
        return None
    at = datetime.fromisoformat(walked["at"])
    if timezone.now() - at > WALK_MAX_AGE or not inventory_sync.events_trusted():
        return None
    if Event.objects.filter(received_at__gte=at).exclude(action="pull").exists():
        return None
    active = Q(finished_at=None) & Q(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
    if Job.objects.filter(Q(kind__in=CHANGES_FILES) & (active | Q(finished_at__gte=at))).exists():
        return None
    if walked.get("state") != _files_state():
        return None
    return int(walked["bytes"]), int(walked["blob_count"])


def prune(now: datetime | None = None) -> int:
    """Delete samples older than STATS_RETENTION_DAYS; the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.STATS_RETENTION_DAYS)
    deleted, _ = StatsSample.objects.filter(collected_at__lt=cutoff).delete()
    return deleted


class StatisticsJob(runner.JobRunner[stats.StatsResult]):
    """A statistics job (the page's "Collect now", POST /api/v1/stats/collect/): one sample."""

    kind = Job.Kind.STATS

    def run(self) -> stats.StatsResult:
        try:
            sample = collect(log=self.log)
        except Exception as e:
            logger.exception("statistics job %s failed", self.job.pk)
            raise runner.JobFailed(f"Statistics could not be collected: {e}") from e
        result = stats.job_result(sample)
        registry_errors = [error for error in sample.errors if error.startswith("registry: ")]
        if registry_errors or not _measured_anything(sample):
            # What the job is for (repositories, tags, bytes) was not measured: no "collected".
            why = "; ".join(registry_errors or sample.errors) or "nothing could be measured"
            raise runner.JobFailed(
                f"Statistics not collected: {why}. The sample keeps what could be measured; check REGISTRY_URL "
                "and that the registry runs (Registry page), then collect again.",
                result=result,
                logged=True,
            )
        return result

    def problems(self, result: stats.StatsResult) -> str | None:
        """Some sources did not answer (the engine, a paused registry): part of the figures are missing."""
        errors = result.get("errors") or []
        return f"Collected in part: {'; '.join(errors)}" if errors else None


def _measured_anything(sample: StatsSample) -> bool:
    return any(getattr(sample, field) is not None for field in stats.SAMPLE_FIELDS if field != "largest_repositories")

"""Statistics of the registry: collected by a worker, stored as samples, read by pages and the API.

A sample joins three sources: the engine (``docker stats`` of the container, computed as
the docker CLI does), the container's data root (``du`` and a blob count, run inside the
container) and the registry's content (repositories, tags, compressed bytes) through the
catalog service's cache.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from catalog.registry import RegistryError, RegistryNotFound, get_client
from catalog.services import content_blobs
from inventory import sync as inventory_sync
from maintenance import container, engine
from maintenance.models import StatsSample

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "registry-statistics"
SCHEDULE_TASK = "maintenance.tasks.collect_stats_on_schedule"

# What GET /api/v1/stats/history/?fields= may ask for, and what "latest" shows.
SAMPLE_FIELDS = (
    "cpu_percent",
    "memory_bytes",
    "memory_limit_bytes",
    "net_rx_bytes",
    "net_tx_bytes",
    "block_read_bytes",
    "block_write_bytes",
    "pids",
    "storage_bytes",
    "blob_count",
    "repository_count",
    "tag_count",
    "total_bytes",
    "unique_bytes",
)
LATEST_FIELDS = SAMPLE_FIELDS[:12]
CHART_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
LARGEST_KEPT = 10


# --- Content: repositories, tags and the bytes they reference ---------------------------


@dataclass
class ContentSummary:
    repository_count: int = 0
    tag_count: int = 0
    total_bytes: int = 0
    unique_bytes: int = 0
    largest_repositories: list[dict[str, Any]] = field(default_factory=list)
    # Every repository's figures, largest first; the sample keeps only the top LARGEST_KEPT.
    repositories: list[dict[str, Any]] = field(default_factory=list)


def content_summary() -> ContentSummary:
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
    summary = ContentSummary()
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


def _inventory_summary() -> ContentSummary:
    figures = inventory_sync.content_figures()
    summary = ContentSummary(unique_bytes=figures.unique_bytes)
    per_repository = []
    for repo in figures.repositories:
        summary.repository_count += 1
        summary.tag_count += repo["tags"]
        summary.total_bytes += repo["total_bytes"]
        per_repository.append({"name": repo["name"], "unique_bytes": repo["unique_bytes"], "tags": repo["tags"]})
    per_repository.sort(key=lambda r: (-r["unique_bytes"], r["name"]))
    summary.repositories = per_repository
    summary.largest_repositories = per_repository[:LARGEST_KEPT]
    return summary


# --- Collecting a sample -------------------------------------------------------------------


def collect(log: Callable[[str], None] = lambda line: None) -> StatsSample:
    """Measure everything that can be measured now and store it as one sample.

    Runs in a worker. Each source fails on its own: its fields stay null and ``errors``
    says why, so a paused container still gives CPU and memory.
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
            _measure_container(client, sample, errors, log)
        finally:
            client.close()
    paused = bool((container.recorded_snapshot() or {}).get("paused"))
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


def _measure_container(client: Any, sample: StatsSample, errors: list[str], log: Callable[[str], None]) -> None:
    snapshot = container.record_snapshot(client)
    if not snapshot.get("ok"):
        errors.append(snapshot["error"])
        log(f"container: {snapshot['error']}")
        return
    log(f"container: {snapshot['name']} {snapshot['status']} ({snapshot['image']}, {snapshot.get('version')})")
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
    if snapshot.get("paused"):
        errors.append("The registry is paused: its storage was not measured (no exec into a paused container).")
        return
    try:
        storage = engine.measure_storage(client, (snapshot.get("config") or {}).get("data_root") or "/var/lib/registry")
    except engine.EngineError as e:
        errors.append(e.message)
        log(f"storage: {e.message}")
    else:
        sample.storage_bytes = storage.bytes
        sample.blob_count = storage.blob_count
        log(f"storage: {storage.bytes} bytes, {storage.blob_count} blobs")


def prune(now: datetime | None = None) -> int:
    """Delete samples older than STATS_RETENTION_DAYS; the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.STATS_RETENTION_DAYS)
    deleted, _ = StatsSample.objects.filter(collected_at__lt=cutoff).delete()
    return deleted


# --- Reading samples --------------------------------------------------------------------


def parse_timestamp(raw: str) -> datetime | None:
    """An ISO 8601 date or date-time; naive values are in the dashboard's time zone."""
    try:  # both parsers raise ValueError for a well-formed but impossible date (month 13)
        value = parse_datetime(raw.strip())
        day = parse_date(raw.strip()) if value is None else None
    except ValueError:
        return None
    if value is None:
        if day is None:
            return None
        value = datetime(day.year, day.month, day.day)
    try:  # near year 1 or 9999 the shift to UTC overflows: no date the samples could have
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return value


def latest() -> StatsSample | None:
    return StatsSample.objects.first()


def describe(sample: StatsSample) -> list[tuple[str, str]]:
    """The sample as (label, value) pairs for the page; "unknown" where it was not measured."""

    def size(value: int | None) -> str:
        return "unknown" if value is None else filesizeformat(value)

    def number(value: float | None, unit: str = "") -> str:
        return "unknown" if value is None else f"{value:g}{unit}"

    return [
        ("CPU", number(None if sample.cpu_percent is None else round(sample.cpu_percent, 2), " %")),
        ("Memory", f"{size(sample.memory_bytes)} of {size(sample.memory_limit_bytes)}"),
        ("Processes", number(sample.pids)),
        ("Network", f"received {size(sample.net_rx_bytes)}, sent {size(sample.net_tx_bytes)}"),
        ("Block I/O", f"read {size(sample.block_read_bytes)}, written {size(sample.block_write_bytes)}"),
        ("Storage", f"{size(sample.storage_bytes)} in {number(sample.blob_count)} blobs"),
        ("Content", f"{number(sample.repository_count)} repositories, {number(sample.tag_count)} tags"),
        ("Referenced by tags", f"{size(sample.unique_bytes)} unique, {size(sample.total_bytes)} counted per tag"),
    ]


def sample_as_dict(sample: StatsSample, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"collected_at": sample.collected_at.isoformat(), **{name: getattr(sample, name) for name in fields}}


def history(since: datetime, fields: list[str]) -> list[dict[str, Any]]:
    samples = StatsSample.objects.filter(collected_at__gte=since).order_by("collected_at", "id")
    return [sample_as_dict(s, fields) for s in samples.only("collected_at", *fields)]


def chart_data(range_name: str) -> dict[str, Any]:
    """The series the Registry page's charts draw, for one of CHART_RANGES."""
    since = timezone.now() - CHART_RANGES[range_name]
    points = history(since, list(SAMPLE_FIELDS))
    newest = latest()
    return {
        "range": range_name,
        "points": [{**p, "t": int(datetime.fromisoformat(p["collected_at"]).timestamp() * 1000)} for p in points],
        "largest": (newest.largest_repositories if newest else []),
    }


def chart_json(range_name: str) -> str:
    return json.dumps(chart_data(range_name))


# --- The schedule admins edit ------------------------------------------------------------


def schedule() -> PeriodicTask:
    """The beat entry that collects statistics, made with STATS_INTERVAL_SECONDS the first time.

    It lives in django-celery-beat's tables (not CELERY_BEAT_SCHEDULE, which beat rewrites
    on every start), so the interval an admin sets survives restarts.
    """
    with transaction.atomic():
        task = PeriodicTask.objects.filter(name=SCHEDULE_NAME).select_related("interval").first()
        if task is not None:
            return task
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=settings.STATS_INTERVAL_SECONDS, period=IntervalSchedule.SECONDS
        )
        return PeriodicTask.objects.create(
            name=SCHEDULE_NAME,
            task=SCHEDULE_TASK,
            interval=interval,
            description="Registry statistics: engine stats, storage and content counts (the Registry page).",
        )


def interval_seconds(task: PeriodicTask) -> int:
    if task.interval is None:
        return settings.STATS_INTERVAL_SECONDS
    per = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "microseconds": 0}
    return int(task.interval.every * per.get(task.interval.period, 1))


def set_interval(seconds: int) -> PeriodicTask:
    """Change how often statistics are collected; beat notices the change by itself."""
    task = schedule()
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    task.interval = interval
    task.enabled = True
    task.save()  # PeriodicTask.save marks the schedule changed for the DatabaseScheduler
    return task

"""Statistics of the registry as pages and the API read them: samples, charts, the schedule.

Workers collect the samples (``maintenance.stats_collector``); this module never opens
the engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, cast

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from inventory import storage
from jobs.models import Job
from maintenance import gc_requests, snapshot, task_names
from maintenance.models import StatsSample

SCHEDULE_NAME = "registry-statistics"
SCHEDULE_TASK = task_names.COLLECT_STATS_ON_SCHEDULE

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

    def network() -> str:
        if sample.net_rx_bytes is None and sample.net_tx_bytes is None and sample.memory_bytes is not None:
            # Measured, but docker gave no network counters: the container uses the host's network.
            return "not measured: the container uses the host's network, for which docker counts no traffic"
        return f"received {size(sample.net_rx_bytes)}, sent {size(sample.net_tx_bytes)}"

    return [
        ("CPU", number(None if sample.cpu_percent is None else round(sample.cpu_percent, 2), " %")),
        ("Memory", f"{size(sample.memory_bytes)} of {size(sample.memory_limit_bytes)}"),
        ("Processes", number(sample.pids)),
        ("Network", network()),
        ("Block I/O", f"read {size(sample.block_read_bytes)}, written {size(sample.block_write_bytes)}"),
        ("Storage", f"{size(sample.storage_bytes)} in {number(sample.blob_count)} blobs"),
        ("Content", f"{number(sample.repository_count)} repositories, {number(sample.tag_count)} tags"),
        ("Referenced by tags", f"{size(sample.unique_bytes)} unique, {size(sample.total_bytes)} counted per tag"),
    ]


def sample_as_dict(sample: StatsSample, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {"collected_at": sample.collected_at.isoformat(), **{name: getattr(sample, name) for name in fields}}


class StatsResult(TypedDict, total=False):
    """A statistics job's ``result``: the sample's figures (null where not read) and why."""

    collected_at: str
    cpu_percent: float | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    net_rx_bytes: int | None
    net_tx_bytes: int | None
    block_read_bytes: int | None
    block_write_bytes: int | None
    pids: int | None
    storage_bytes: int | None
    blob_count: int | None
    repository_count: int | None
    tag_count: int | None
    total_bytes: int | None
    unique_bytes: int | None
    errors: list[str]


def job_result(sample: StatsSample) -> StatsResult:
    """A statistics job's result: every figure of ``sample``, and its errors when there were any."""
    result = cast(StatsResult, sample_as_dict(sample, SAMPLE_FIELDS))
    if sample.errors:
        result["errors"] = list(sample.errors)
    return result


def samples_since(since: datetime, fields: list[str]) -> QuerySet[StatsSample]:
    """Samples collected since ``since``, oldest first, with ``fields`` only loaded."""
    return (
        StatsSample.objects.filter(collected_at__gte=since).order_by("collected_at", "id").only("collected_at", *fields)
    )


def history(since: datetime, fields: list[str]) -> list[dict[str, Any]]:
    return [sample_as_dict(s, fields) for s in samples_since(since, fields)]


def chart_data(range_name: str) -> dict[str, Any]:
    """The series the Registry page's charts draw, for one of CHART_RANGES."""
    since = timezone.now() - CHART_RANGES[range_name]
    points = history(since, list(SAMPLE_FIELDS))
    newest = latest()
    return {
        "range": range_name,
        "points": [{**p, "t": int(datetime.fromisoformat(p["collected_at"]).timestamp() * 1000)} for p in points],
        "largest": (newest.largest_repositories if newest else []),
        # The container's own memory limit; 0 when it has none: docker then reports the host's
        # memory as the limit, which would flatten the use to 0, so the chart draws the use alone.
        # None while no worker has described the container yet.
        "memory_limit": _memory_limit(),
    }


def _memory_limit() -> int | None:
    seen = snapshot.recorded_snapshot()
    if not seen or not seen.get("ok", True) or "limits" not in seen:
        return None
    return int((seen.get("limits") or {}).get("memory_bytes") or 0)


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


# --- What the Storage page (the inventory's) shows of the disk -------------------------------


def disk_figures() -> storage.DiskFigures:
    """The bytes on disk, their growth and the GC's last dry run, for the inventory's Storage page
    and ``GET /api/v1/storage/`` (``maintenance.urls`` and ``maintenance.api.urls`` pass this)."""
    since = timezone.now() - timedelta(days=storage.GROWTH_DAYS)
    samples = (
        StatsSample.objects.filter(collected_at__gte=since)
        .exclude(storage_bytes=None, unique_bytes=None)
        .order_by("collected_at", "id")
        .values_list("collected_at", "storage_bytes", "unique_bytes")
    )
    growth = [
        {"collected_at": when.isoformat(), "storage_bytes": stored, "referenced_bytes": referenced}
        for when, stored, referenced in samples
    ]
    return storage.DiskFigures(
        sample=StatsSample.objects.exclude(storage_bytes=None).first(),
        # The newest successful GC dry run no real run came after.
        dry_run=gc_requests.preview(),
        growth=growth,
        last_gc=Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=False)
        .exclude(finished_at=None)
        .order_by("-finished_at")
        .first(),
    )

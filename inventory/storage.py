"""Where the space goes: the Storage page and ``GET /api/v1/storage/``, from the inventory alone.

No registry request and no engine call: everything here comes from the inventory (tags,
manifests, the blobs each manifest references, an index's children). What the inventory cannot
know (the bytes on disk from the newest statistics sample, their growth, what the last GC dry
run found) is maintenance's: it hands them to the page and the API as ``DiskFigures``, through
the URLconf that mounts them (``maintenance.urls``), so the inventory never imports maintenance.

What a repository "references" is the set of distinct blobs (configs and layers, compressed
sizes as the registry stores them) of the manifests its tags name, with the children of an
index. Attached artifacts count with their subject: a ``sha256-<hex>.sig|.att|.sbom`` or
referrers tag (``Tag.attached_to``), or a tagged manifest with an OCI 1.1 ``subject``, belongs
to the image whose digest it names. A blob is *unique* to a repository (or a namespace, or an
image) when nothing else references it: deleting that repository and collecting gives exactly
these bytes back. *Shared* bytes are the rest; they stay as long as another user does.

Every figure is aggregated in SQL, whatever the number of repositories: ``measured()`` fills a
few temporary tables from the inventory once (one transaction), each figure is then one query
on them, and the per-repository table is paged in SQL (LIMIT/OFFSET).
"""

# The SQL below is put together from table names and fixed fragments only; every value (a
# search, a date, a limit) goes in as a query parameter.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.worker import QueueUnavailable, send
from inventory import files, services, task_names
from inventory.models import (
    Blob,
    Manifest,
    ManifestBlob,
    ManifestChild,
    Repository,
    StorageFilesReport,
    StorageRelease,
    Tag,
)
from registry_client.client import RegistryError, get_client

NOT_PULLED_DAYS = 90
GROWTH_DAYS = 30
TOP_REPOSITORIES = 10
NAMESPACES_SHOWN = 100
NOT_PULLED_SHOWN = 50
# The per-repository table's orders: name -> SQL ORDER BY (ties broken by name).
ORDERINGS = {
    "referenced": "referenced DESC, name",
    "unique": "unique_bytes DESC, name",
    "shared": "shared DESC, name",
    "name": "name",
}


# unit_blob: each (repository, image) with the distinct blobs it references. An image is named
# by its root digest: its own, or for an attached artifact the digest of its subject.
_UNITS = """
WITH tag_root AS (
  SELECT t.repository_id AS repo, t.manifest_id AS manifest,
         CASE WHEN t.attached_to <> '' THEN t.attached_to
              WHEN m.subject <> '' THEN m.subject
              ELSE m.digest END AS root
  FROM {tag} t JOIN {manifest} m ON m.id = t.manifest_id
),
unit_manifest AS (
  SELECT repo, root, manifest FROM tag_root
  UNION
  SELECT tr.repo, tr.root, cm.id FROM tag_root tr
    JOIN {child} c ON c.parent_id = tr.manifest
    JOIN {manifest} cm ON cm.digest = c.digest
)
SELECT DISTINCT um.repo, um.root, mb.blob_id AS blob, b.size
FROM unit_manifest um JOIN {manifestblob} mb ON mb.manifest_id = um.manifest JOIN {blob} b ON b.id = mb.blob_id
"""

# The temporary tables one measurement fills once and every figure then reads (a CTE would be
# computed again by each query: seconds on 10,000 repositories).
_TEMPORARY = ("st_unit_blob", "st_repo_blob", "st_blob_repos", "st_repo_usage")


def _namespace_sql(column: str) -> str:
    """The part of a repository name before its first "/" ("" for top-level names), in SQL."""
    find = "strpos" if connection.vendor == "postgresql" else "instr"
    return f"CASE WHEN {find}({column}, '/') > 0 THEN substr({column}, 1, {find}({column}, '/') - 1) ELSE '' END"


def _rows(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def _drop_temporary(cursor: Any) -> None:
    schema = "pg_temp" if connection.vendor == "postgresql" else "temp"
    for table in reversed(_TEMPORARY):
        cursor.execute(f"DROP TABLE IF EXISTS {schema}.{table}")


@contextmanager
def measured() -> Iterator[Measurement]:
    """Fill the temporary tables from the inventory (one transaction), yield, drop them.

    Everything read from the yielded ``Measurement`` must be read inside the ``with``.
    """
    tables = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        _drop_temporary(cursor)  # a request that died before its cleanup, on a kept connection
        try:
            cursor.execute("CREATE TEMPORARY TABLE st_unit_blob AS " + _UNITS.format(**tables))
            cursor.execute("CREATE INDEX st_unit_blob_unit ON st_unit_blob (repo, root)")
            cursor.execute("CREATE INDEX st_unit_blob_blob ON st_unit_blob (blob)")
            cursor.execute("CREATE TEMPORARY TABLE st_repo_blob AS SELECT DISTINCT repo, blob, size FROM st_unit_blob")
            cursor.execute("CREATE INDEX st_repo_blob_blob ON st_repo_blob (blob)")
            cursor.execute(
                "CREATE TEMPORARY TABLE st_blob_repos AS SELECT blob, COUNT(*) AS users FROM st_repo_blob GROUP BY blob"
            )
            cursor.execute("CREATE UNIQUE INDEX st_blob_repos_blob ON st_blob_repos (blob)")
            cursor.execute(
                "CREATE TEMPORARY TABLE st_repo_usage AS"
                f" SELECT r.id AS repo, r.name AS name, {_namespace_sql('r.name')} AS ns,"
                " COALESCE(SUM(rb.size), 0) AS referenced,"
                " COALESCE(SUM(CASE WHEN br.users = 1 THEN rb.size ELSE 0 END), 0) AS unique_bytes,"
                " COALESCE(SUM(CASE WHEN br.users > 1 THEN rb.size ELSE 0 END), 0) AS shared"
                f" FROM {tables['repository']} r JOIN st_repo_blob rb ON rb.repo = r.id"
                " JOIN st_blob_repos br ON br.blob = rb.blob GROUP BY r.id, r.name"
            )
            cursor.execute("CREATE UNIQUE INDEX st_repo_usage_repo ON st_repo_usage (repo)")
            yield Measurement()
        finally:
            _drop_temporary(cursor)


def _tables() -> dict[str, str]:
    return {
        "tag": Tag._meta.db_table,
        "manifest": Manifest._meta.db_table,
        "manifestblob": ManifestBlob._meta.db_table,
        "child": ManifestChild._meta.db_table,
        "blob": Blob._meta.db_table,
        "repository": Repository._meta.db_table,
    }


# --- Per repository -------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """What a repository or a namespace references, and how much of it only it does."""

    name: str
    referenced_bytes: int
    unique_bytes: int
    repositories: int = 1

    @property
    def shared_bytes(self) -> int:
        return self.referenced_bytes - self.unique_bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "referenced_bytes": self.referenced_bytes,
            "unique_bytes": self.unique_bytes,
            "shared_bytes": self.shared_bytes,
        }


class RepositoryUsages:
    """Every repository with content, as a lazy sequence a paginator pages in SQL (LIMIT/OFFSET)."""

    def __init__(self, ordering: str = "referenced", search: str = "") -> None:
        self.order_by = ORDERINGS[ordering]
        self.search = search.lower()
        self._count: int | None = None

    def _where(self) -> tuple[str, list[Any]]:
        if not self.search:
            return "", []
        escaped = self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return "WHERE name LIKE %s ESCAPE '\\'", [f"%{escaped}%"]

    def count(self) -> int:
        if self._count is None:
            where, params = self._where()
            self._count = int(_rows(f"SELECT COUNT(*) FROM st_repo_usage {where}", params)[0][0] or 0)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Usage]:
        start = window.start or 0
        stop = window.stop if window.stop is not None else start + self.count()
        where, params = self._where()
        rows = _rows(
            f"SELECT name, referenced, unique_bytes FROM st_repo_usage {where} ORDER BY {self.order_by}"
            " LIMIT %s OFFSET %s",
            [*params, max(0, stop - start), start],
        )
        return [Usage(name, int(referenced), int(unique)) for name, referenced, unique in rows]


@dataclass(frozen=True)
class Totals:
    repositories: int
    blobs: int
    referenced_bytes: int  # distinct blobs referenced by any tag
    shared_bytes: int  # of those, referenced by more than one repository


# --- Images nobody pulled ---------------------------------------------------------------------


@dataclass(frozen=True)
class IdleImage:
    repository: str
    digest: str
    tags: tuple[str, ...]
    last_pulled: dt.datetime | None
    since: dt.datetime | None  # pushed (or first seen by the inventory), its oldest tag
    unique_bytes: int
    referenced_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "digest": self.digest,
            "tags": list(self.tags),
            "last_pulled": self.last_pulled.isoformat() if self.last_pulled else None,
            "pushed": self.since.isoformat() if self.since else None,
            "unique_bytes": self.unique_bytes,
            "referenced_bytes": self.referenced_bytes,
        }


@dataclass(frozen=True)
class IdleImages:
    days: int
    count: int
    unique_bytes: int
    shown: list[IdleImage]


def _when(value: Any) -> dt.datetime | None:
    """A datetime from a raw query: SQLite hands back text, PostgreSQL a datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    return parsed


class Measurement:
    """The figures of one measurement (``measured()``), each one query on its temporary tables."""

    def repositories(self, ordering: str = "referenced", search: str = "") -> RepositoryUsages:
        return RepositoryUsages(ordering, search)

    def top_repositories(self, limit: int = TOP_REPOSITORIES) -> list[Usage]:
        """The repositories that reference the most bytes."""
        return RepositoryUsages("referenced")[0:limit]

    def totals(self) -> Totals:
        repositories, blobs, referenced, shared = _rows(
            "SELECT (SELECT COUNT(*) FROM st_repo_usage), COUNT(*),"
            " COALESCE(SUM(size), 0), COALESCE(SUM(CASE WHEN users > 1 THEN size ELSE 0 END), 0)"
            " FROM (SELECT rb.blob, MAX(rb.size) AS size, MAX(br.users) AS users FROM st_repo_blob rb"
            " JOIN st_blob_repos br ON br.blob = rb.blob GROUP BY rb.blob) blobs"
        )[0]
        return Totals(int(repositories or 0), int(blobs or 0), int(referenced or 0), int(shared or 0))

    def namespaces(self, limit: int = NAMESPACES_SHOWN) -> tuple[list[Usage], int]:
        """The namespaces referencing the most bytes (at most ``limit``) and how many there are.

        A namespace's unique bytes are the blobs no repository outside it references: what
        deleting the whole namespace would give back.
        """
        rows = _rows(
            "WITH ns_blob AS (SELECT DISTINCT u.ns, rb.blob, rb.size FROM st_repo_blob rb"
            " JOIN st_repo_usage u ON u.repo = rb.repo),"
            " blob_ns AS (SELECT blob, COUNT(*) AS users FROM ns_blob GROUP BY blob),"
            " ns_repos AS (SELECT ns, COUNT(*) AS repositories FROM st_repo_usage GROUP BY ns),"
            " ns_usage AS (SELECT nb.ns, SUM(nb.size) AS referenced,"
            " SUM(CASE WHEN bn.users = 1 THEN nb.size ELSE 0 END) AS unique_bytes"
            " FROM ns_blob nb JOIN blob_ns bn ON bn.blob = nb.blob GROUP BY nb.ns)"
            " SELECT u.ns, u.referenced, u.unique_bytes, nr.repositories, COUNT(*) OVER () AS total"
            " FROM ns_usage u JOIN ns_repos nr ON nr.ns = u.ns ORDER BY u.referenced DESC, u.ns LIMIT %s",
            [limit],
        )
        found = [Usage(ns, int(ref or 0), int(uniq or 0), int(repos)) for ns, ref, uniq, repos, _ in rows]
        return found, int(rows[0][4]) if rows else 0

    def not_pulled(
        self, days: int = NOT_PULLED_DAYS, limit: int = NOT_PULLED_SHOWN, now: dt.datetime | None = None
    ) -> IdleImages:
        """Images (a repository's image tags on one digest) with no pull in ``days`` days and older
        than that, the biggest first by the bytes only they reference (their attached artifacts'
        included), with their count and those bytes in total."""
        cutoff = connection.ops.adapt_datetimefield_value((now or timezone.now()) - dt.timedelta(days=days))
        pulled = (
            "CASE WHEN MAX(t.last_pulled) IS NULL THEN MAX(m.last_pulled)"
            " WHEN MAX(m.last_pulled) IS NULL THEN MAX(t.last_pulled)"
            " WHEN MAX(t.last_pulled) > MAX(m.last_pulled) THEN MAX(t.last_pulled) ELSE MAX(m.last_pulled) END"
        )
        tables = _tables()
        rows = _rows(
            "WITH blob_units AS (SELECT blob, COUNT(*) AS users FROM st_unit_blob GROUP BY blob),"
            " unit_usage AS (SELECT ub.repo, ub.root,"
            " SUM(CASE WHEN bu.users = 1 THEN ub.size ELSE 0 END) AS unique_bytes, SUM(ub.size) AS referenced"
            " FROM st_unit_blob ub JOIN blob_units bu ON bu.blob = ub.blob GROUP BY ub.repo, ub.root),"
            f" image AS (SELECT t.repository_id AS repo, m.digest AS root, {pulled} AS last_pulled,"
            " MIN(COALESCE(t.pushed_at, t.first_seen)) AS since"
            f" FROM {tables['tag']} t JOIN {tables['manifest']} m ON m.id = t.manifest_id"
            " WHERE t.attached_to = '' AND m.subject = '' GROUP BY t.repository_id, m.digest"
            f" HAVING ({pulled} IS NULL OR {pulled} < %s) AND MIN(COALESCE(t.pushed_at, t.first_seen)) < %s)"
            " SELECT i.repo, r.name, i.root, i.last_pulled, i.since, u.unique_bytes, u.referenced,"
            " COUNT(*) OVER (), SUM(u.unique_bytes) OVER ()"
            " FROM image i JOIN unit_usage u ON u.repo = i.repo AND u.root = i.root"
            f" JOIN {tables['repository']} r ON r.id = i.repo"
            " ORDER BY u.unique_bytes DESC, r.name, i.root LIMIT %s",
            [cutoff, cutoff, limit],
        )
        if not rows:
            return IdleImages(days, 0, 0, [])
        names: dict[tuple[int, str], list[str]] = {}
        wanted = Tag.objects.filter(
            repository_id__in={row[0] for row in rows}, manifest__digest__in={row[2] for row in rows}, attached_to=""
        )
        for repo_id, digest, tag in wanted.values_list("repository_id", "manifest__digest", "name").order_by("name"):
            names.setdefault((repo_id, digest), []).append(tag)
        shown = [
            IdleImage(
                repository=name,
                digest=root,
                tags=tuple(names.get((repo_id, root), [])),
                last_pulled=_when(last_pulled),
                since=_when(since),
                unique_bytes=int(unique or 0),
                referenced_bytes=int(referenced or 0),
            )
            for repo_id, name, root, last_pulled, since, unique, referenced, _, _ in rows
        ]
        return IdleImages(days, int(rows[0][7]), int(rows[0][8] or 0), shown)


# --- Disk, garbage collection, growth: given by maintenance ------------------------------------


@dataclass(frozen=True)
class DiskFigures:
    """What the registry's disk holds and what a GC would free: measured by maintenance's workers.

    ``sample`` is the newest statistics sample with a storage figure (``storage_bytes``,
    ``blob_count``, ``collected_at``), None before the first; ``dry_run`` the newest successful
    GC dry run no real run came after (a job: ``pk``, ``finished_at``, ``result``, ``params``),
    or None; ``growth`` the samples of the last ``GROWTH_DAYS`` days as points
    (``collected_at``, ``storage_bytes``, ``referenced_bytes``), oldest first.
    """

    sample: Any
    dry_run: Any
    growth: list[dict[str, Any]]
    #: The newest successful real (not dry) GC run (a job: ``pk``, ``finished_at``, ``params``), or None.
    last_gc: Any = None


#: How the page and the API get them: a function the URLconf passes (``maintenance.stats.disk_figures``).
DiskFiguresSource = Callable[[], DiskFigures]


def growth_bytes(points: list[dict[str, Any]]) -> int | None:
    """How much the stored bytes grew (or shrank, negative) from the first point to the last."""
    stored = [p["storage_bytes"] for p in points if p["storage_bytes"] is not None]
    return stored[-1] - stored[0] if len(stored) > 1 else None


# --- From the storage files (REGISTRY_DATA_DIR, issue 24) ----------------------------------------


@dataclass(frozen=True)
class FilesFigures:
    """The space figures read from the registry's storage files, when the last sync read them.

    ``source`` is ``files`` or ``http``, ``reason`` why; ``report`` (bytes and blobs on disk, what a
    GC would free with and without --delete-untagged, untagged manifests, upload leftovers) is
    None unless the files are the source and were measured. They are measured by a task of their
    own after a sync (``inventory.tasks.measure_storage``): ``measuring_since`` says since when
    one is queued or running, None when none is.
    """

    source: str
    reason: str
    measured_at: dt.datetime | None
    report: dict[str, Any] | None
    measuring_since: dt.datetime | None = None

    @property
    def age_seconds(self) -> int | None:
        """How old the figures are, in seconds; None before the first measurement."""
        if self.measured_at is None:
            return None
        return max(int((timezone.now() - self.measured_at).total_seconds()), 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read_from": self.source,
            "reason": self.reason,
            "measured_at": self.measured_at.isoformat() if self.measured_at else None,
            "age_seconds": self.age_seconds,
            "measuring": self.measuring_since is not None,
            "measuring_since": self.measuring_since.isoformat() if self.measuring_since else None,
            **(self.report or {}),
        }


def files_figures() -> FilesFigures:
    recorded = files.recorded_source()
    if recorded is None:
        return FilesFigures("http", "No sync has run yet.", None, None)
    source, reason = str(recorded["source"]), str(recorded["reason"])
    if source != "files":
        return FilesFigures(source, reason, None, None)
    report = StorageFilesReport.objects.filter(pk=1).first()
    measuring = files.measuring_since()
    if report is None:
        return FilesFigures(source, reason, None, None, measuring)
    return FilesFigures(source, reason, report.measured_at, report.figures, measuring)


# --- One storage picture (issue 25) --------------------------------------------------------------
#
# on disk = referenced by tags + reclaimable by a default GC + kept untagged (what a GC with
# --delete-untagged would add) + the registry's own directories and links + uploads in progress.
# Every page that shows a storage figure and GET /api/v1/storage/ read ``picture()``; a delete's
# promise (``release``) is the same computation, recorded when the delete succeeds
# (``record_release``) and added to the picture until the next measurement, so the figures are
# true right after the delete without waiting for a dry run.

PART_LABELS = {
    "referenced": "Referenced by tags",
    "reclaimable": "Reclaimable by a garbage collection",
    "untagged": "Kept untagged",
    "metadata": "The registry's own directories and links",
    "uploads": "Uploads in progress",
    "rest": "Directories, links, uploads and the rest",
}
#: Where a part comes from.
FILES, INVENTORY, DRY_RUN, CONTAINER_DF = "files", "inventory", "dry run", "container df"
#: A storage figure asks the registry for every repository first when the inventory cannot vouch
#: for itself (issue 22), up to this many repositories; past it the running sync does.
REFRESH_MAX_REPOSITORIES = 200
MEASURE_CACHE_KEY = "inventory:storage-measure-requested"


@dataclass(frozen=True)
class Part:
    key: str
    bytes: int | None
    source: str
    measured_at: dt.datetime | None
    note: str = ""

    @property
    def label(self) -> str:
        return PART_LABELS[self.key]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "bytes": self.bytes,
            "source": self.source,
            "measured_at": _iso(self.measured_at),
            "note": self.note,
        }


@dataclass(frozen=True)
class Picture:
    """What the registry's disk holds, in parts that add up to ``on_disk``, each with its source."""

    on_disk: int | None
    source: str  # files, container df, or "" when nothing measured the disk
    measured_at: dt.datetime | None
    computed_at: dt.datetime
    parts: tuple[Part, ...]
    notes: tuple[str, ...] = ()
    #: Issue 22: the repositories read from the registry first, and why ("" when not needed).
    refreshed: str = ""
    #: The newest statistics sample's ``du`` of the registry's data root, for comparison.
    container_df: dict[str, Any] | None = None
    #: The newest real GC: ``job``, ``finished_at``, ``bytes_freed``.
    last_gc: dict[str, Any] | None = None
    #: Bytes deletes released since the measurement (counted in reclaimable and untagged).
    released_bytes: int = 0

    @property
    def adds_up(self) -> bool:
        return (
            self.on_disk is not None
            and all(p.bytes is not None for p in self.parts)
            and (sum(p.bytes or 0 for p in self.parts) == self.on_disk)
        )

    def part(self, key: str) -> Part | None:
        return next((p for p in self.parts if p.key == key), None)

    def bytes_of(self, key: str) -> int | None:
        found = self.part(key)
        return found.bytes if found else None

    @property
    def reclaimable(self) -> int | None:
        return self.bytes_of("reclaimable")

    @property
    def referenced(self) -> int | None:
        return self.bytes_of("referenced")

    @property
    def untagged(self) -> int | None:
        return self.bytes_of("untagged")

    def as_dict(self) -> dict[str, Any]:
        return {
            "on_disk": self.on_disk,
            "source": self.source,
            "measured_at": _iso(self.measured_at),
            "computed_at": _iso(self.computed_at),
            "adds_up": self.adds_up,
            "parts": [part.as_dict() for part in self.parts],
            "notes": list(self.notes),
            "refreshed": self.refreshed,
            "container_df": _with_iso(self.container_df),
            "last_gc": _with_iso(self.last_gc),
            "released_bytes": self.released_bytes,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _with_iso(found: dict[str, Any] | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {key: _iso(value) if isinstance(value, dt.datetime) else value for key, value in found.items()}


# --- What a delete releases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """The blobs a delete leaves for a GC, by digest with their bytes: ``reclaimable`` (their
    manifests deleted: a default GC frees them) and ``untagged`` (their manifests stay untagged)."""

    reclaimable: dict[str, int]
    untagged: dict[str, int]

    @property
    def reclaimable_bytes(self) -> int:
        return sum(self.reclaimable.values())

    @property
    def untagged_bytes(self) -> int:
        return sum(self.untagged.values())


def _tagged_manifests(excluding: Sequence[int] = ()) -> Any:
    """The manifest ids the tags (all but ``excluding``) reach, their platforms included, as a subquery."""
    roots = Tag.objects.exclude(id__in=list(excluding)).values("manifest_id")
    children = ManifestChild.objects.filter(parent_id__in=roots).values("digest")
    return Manifest.objects.filter(models.Q(id__in=roots) | models.Q(digest__in=children)).values("id")


def release(repository: str, tags: Sequence[str] = (), digests: Sequence[str] = ()) -> Release:
    """What deleting ``tags`` (and every tag on the manifests ``digests``, deleted by digest) in
    ``repository`` would leave for a GC, from the inventory: the configs and layers of the
    manifests those tags reach (an index's platforms too) that no other tag of any repository
    reaches. A blob of a manifest in ``digests`` is reclaimable by a default GC; one of a manifest
    that only loses its tags stays with it, untagged (registry:3 keeps those manifests).

    The manifests' own small blobs are not counted (the inventory does not keep their size): the
    files' next reading adds them.
    """
    deleted = set(digests)
    in_repository = Tag.objects.filter(repository__name=repository)
    going = in_repository.filter(
        models.Q(name__in=list(tags)) | models.Q(digest__in=list(deleted)) | models.Q(attached_to__in=list(deleted))
    )
    going_ids = list(going.values_list("id", flat=True))
    if not going_ids:
        return Release({}, {})
    roots = dict(Manifest.objects.filter(tags__id__in=going_ids).values_list("id", "digest").distinct())
    children = dict(
        Manifest.objects.filter(digest__in=ManifestChild.objects.filter(parent_id__in=list(roots)).values("digest"))
        .values_list("id", "digest")
        .distinct()
    )
    kept_manifests = set(_tagged_manifests(going_ids).filter(id__in=[*roots, *children]).values_list("id", flat=True))
    candidates = {pk: digest for pk, digest in {**children, **roots}.items() if pk not in kept_manifests}
    if not candidates:
        return Release({}, {})
    kept_blobs = ManifestBlob.objects.filter(manifest_id__in=_tagged_manifests(going_ids)).values("blob_id")
    links = (
        ManifestBlob.objects.filter(manifest_id__in=list(candidates))
        .exclude(blob_id__in=kept_blobs)
        .values_list("manifest_id", "blob__digest", "blob__size")
    )
    reclaimable: dict[str, int] = {}
    untagged: dict[str, int] = {}
    for manifest_id, digest, size in links:
        (reclaimable if candidates[manifest_id] in deleted else untagged)[digest] = int(size)
    for digest in reclaimable:  # a blob of a deleted manifest and of one left untagged stays with the latter
        untagged.pop(digest, None)
    return Release({d: s for d, s in reclaimable.items() if d not in untagged}, untagged)


def record_release(repository: str, found: Release) -> None:
    """A delete succeeded: keep what it released until the next measurement (``picture``), and
    have the storage files read again (when they are the source)."""
    now = timezone.now()
    rows = [
        StorageRelease(created_at=now, kind=kind, repository=repository, blobs=blobs, bytes=sum(blobs.values()))
        for kind, blobs in (
            (StorageRelease.Kind.RECLAIMABLE, found.reclaimable),
            (StorageRelease.Kind.UNTAGGED, found.untagged),
        )
        if blobs
    ]
    if rows:
        StorageRelease.objects.bulk_create(rows)
        StorageRelease.objects.filter(created_at__lt=now - dt.timedelta(days=RELEASES_KEPT_DAYS)).delete()
        transaction.on_commit(request_measurement)


RELEASES_KEPT_DAYS = 90


def request_measurement() -> None:
    """Ask a worker to read the storage files again (at most once a minute); nothing when Redis is away."""
    if files_figures().source != FILES or not cache.add(MEASURE_CACHE_KEY, 1, 60):
        return
    try:
        send(task_names.MEASURE_STORAGE)
    except QueueUnavailable:
        cache.delete(MEASURE_CACHE_KEY)


def _releases_since(since: dt.datetime | None) -> tuple[dict[str, int], dict[str, int], dt.datetime | None]:
    """The blobs deletes released after ``since`` (all kept ones when None) that no tag reaches
    again (pushed back since), by kind, and when the newest was released."""
    rows = StorageRelease.objects.all() if since is None else StorageRelease.objects.filter(created_at__gt=since)
    reclaimable: dict[str, int] = {}
    untagged: dict[str, int] = {}
    newest = None
    for kind, blobs, created_at in rows.values_list("kind", "blobs", "created_at"):
        (reclaimable if kind == StorageRelease.Kind.RECLAIMABLE else untagged).update(blobs or {})
        newest = created_at
    for digest in reclaimable:  # released untagged, then its manifest deleted: a default GC frees it now
        untagged.pop(digest, None)
    every = [*reclaimable, *untagged]
    if every:
        back = set(
            ManifestBlob.objects.filter(blob__digest__in=every, manifest_id__in=_tagged_manifests()).values_list(
                "blob__digest", flat=True
            )
        )
        reclaimable = {d: s for d, s in reclaimable.items() if d not in back}
        untagged = {d: s for d, s in untagged.items() if d not in back}
    return reclaimable, untagged, newest


# --- The picture --------------------------------------------------------------------------------


def _gc_dict(job: Any) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "job": job.pk,
        "finished_at": job.finished_at,
        "bytes_freed": (job.result or {}).get("bytes_freed"),
        "delete_untagged": bool((job.params or {}).get("delete_untagged")),
    }


def picture(disk: DiskFigures, referenced_bytes: int | None = None, refreshed: str = "") -> Picture:
    """The storage picture now: from the storage files when they were read (to the byte), else
    from the inventory, the last dry run and the statistics sample's ``du`` of the data root.

    ``referenced_bytes`` is the inventory's (``Measurement.totals``), measured again when None.
    """
    sample = disk.sample
    container_df = (
        {"bytes": sample.storage_bytes, "measured_at": sample.collected_at}
        if sample is not None and sample.storage_bytes is not None
        else None
    )
    last_gc = _gc_dict(disk.last_gc)
    report = files_figures()
    figures = report.report or {}
    if report.source == FILES and report.measured_at is not None and "gc" in figures:
        found = _from_files(figures, report.measured_at, disk)
    else:
        if referenced_bytes is None:
            with measured() as measure:
                referenced_bytes = measure.totals().referenced_bytes
        found = _from_inventory(referenced_bytes, disk)
    return Picture(
        on_disk=found.on_disk,
        source=found.source,
        measured_at=found.measured_at,
        computed_at=timezone.now(),
        parts=found.parts,
        notes=found.notes,
        refreshed=refreshed,
        container_df=container_df,
        last_gc=last_gc,
        released_bytes=found.released_bytes,
    )


def _from_files(figures: dict[str, Any], measured_at: dt.datetime, disk: DiskFigures) -> Picture:
    blobs = int(figures["bytes"])
    plain = int(figures["gc"]["bytes_eligible"])
    everything = int(figures["gc_delete_untagged"]["bytes_eligible"])
    referenced, reclaimable, untagged = blobs - everything, plain, everything - plain
    metadata = (figures.get("metadata") or {}).get("bytes")
    uploads = int(figures.get("upload_bytes") or 0)
    notes: list[str] = []
    freed = 0
    since = measured_at
    gc = disk.last_gc
    if gc is not None and gc.finished_at is not None and gc.finished_at > measured_at:
        # The sweep freed what the files called reclaimable: taken off until they are read again.
        swept_untagged = bool((gc.params or {}).get("delete_untagged"))
        freed = reclaimable + (untagged if swept_untagged else 0)
        reclaimable, untagged = 0, 0 if swept_untagged else untagged
        since = gc.finished_at
        notes.append(
            f"Garbage collection #{gc.pk} ran after the files were read: what it swept is taken off "
            "until a worker reads them again."
        )
        request_measurement()
    rec, unt, newest = _releases_since(since)
    moved_rec, moved_unt = sum(rec.values()), sum(unt.values())
    if moved_rec or moved_unt:
        notes.append(
            f"Deletes since then moved {moved_rec + moved_unt:,} bytes from “referenced” to what a garbage "
            "collection frees (from the inventory)."
        )
    when = newest if newest is not None and newest > measured_at else measured_at
    source = FILES if not (moved_rec or moved_unt) else f"{FILES} + {INVENTORY}"
    if metadata is None:
        notes.append(
            "The registry's own directories and links were not measured yet: the next reading of the files does."
        )
    parts = (
        Part("referenced", referenced - moved_rec - moved_unt, source, when),
        Part("reclaimable", reclaimable + moved_rec, source, when),
        Part("untagged", untagged + moved_unt, source, when),
        Part("metadata", None if metadata is None else int(metadata), FILES, measured_at, _metadata_note(figures)),
        Part("uploads", uploads, FILES, measured_at, f"{figures.get('upload_count', 0)} under _uploads"),
    )
    on_disk = None if metadata is None else blobs + int(metadata) + uploads - freed
    moved = moved_rec + moved_unt
    return Picture(on_disk, FILES, measured_at, timezone.now(), parts, tuple(notes), released_bytes=moved)


def _metadata_note(figures: dict[str, Any]) -> str:
    found = figures.get("metadata") or {}
    if not found:
        return ""
    return (
        f"{int(found.get('repositories_bytes', 0)):,} bytes under repositories/ (no GC frees them), "
        f"{int(found.get('blob_directories_bytes', 0)):,} in the blobs' own directories"
    )


def _from_inventory(referenced: int, disk: DiskFigures) -> Picture:
    now = timezone.now()
    notes: list[str] = []
    dry, gc = disk.dry_run, disk.last_gc
    reclaimable: int | None = None
    untagged: int | None = None
    since: dt.datetime | None = None
    rec_source = unt_source = INVENTORY
    rec_at: dt.datetime | None = None
    result = (dry.result or {}) if dry is not None else {}
    if dry is not None and result.get("bytes_eligible") is not None:
        since, rec_at = dry.finished_at, dry.finished_at
        rec_source = unt_source = DRY_RUN
        reclaimable = int(result["bytes_eligible"])
        extra = result.get("untagged") or {}
        if (dry.params or {}).get("delete_untagged"):
            untagged = 0  # the dry run counted them in what it frees
        elif extra.get("bytes") is not None:
            untagged = max(0, int(extra["bytes"]) - reclaimable)
    elif gc is not None and gc.finished_at is not None:
        since, rec_at = gc.finished_at, gc.finished_at
        reclaimable = 0  # the last collection swept it all
        if (gc.params or {}).get("delete_untagged"):
            untagged = 0
    rec, unt, newest = _releases_since(since)
    moved_rec, moved_unt = sum(rec.values()), sum(unt.values())
    if newest is not None:
        rec_at = newest
    if reclaimable is None:
        # No collection or dry run says what else there is: at least what the deletes made here left.
        notes.append(
            "No garbage collection or dry run yet: “reclaimable” and “kept untagged” count what the deletes made "
            "here left, and anything else is in “the rest” until a dry run tells it apart."
        )
        reclaimable = moved_rec
        untagged = moved_unt if untagged is None else untagged + moved_unt
    else:
        reclaimable += moved_rec
        if moved_rec and rec_source == DRY_RUN:
            rec_source = f"{DRY_RUN} + {INVENTORY}"
        if untagged is not None:
            untagged += moved_unt
    parts = [Part("referenced", referenced, INVENTORY, now), Part("reclaimable", reclaimable, rec_source, rec_at)]
    if untagged is not None:
        parts.append(Part("untagged", untagged, unt_source, rec_at))
    sample = disk.sample
    on_disk = sample.storage_bytes if sample is not None else None
    if on_disk is None:
        parts.append(Part("rest", None, CONTAINER_DF, None, "not measured: no statistics sample yet"))
        return Picture(None, "", None, now, tuple(parts), tuple(notes), released_bytes=moved_rec + moved_unt)
    known = sum(p.bytes or 0 for p in parts)
    rest = int(on_disk) - known
    note = "the statistics sample's du of the data root (whole blocks) less the parts above"
    if untagged is None:
        note += "; it includes what untagged manifests keep: a dry run tells it apart"
    if rest < 0:
        notes.append(
            f"The statistics sample ({sample.collected_at:%Y-%m-%d %H:%M} UTC) is older than what was pushed since: "
            "collect one on the Registry page for figures that add up."
        )
        parts.append(Part("rest", None, CONTAINER_DF, sample.collected_at, note))
    else:
        parts.append(Part("rest", rest, CONTAINER_DF, sample.collected_at, note))
    moved = moved_rec + moved_unt
    return Picture(
        int(on_disk), CONTAINER_DF, sample.collected_at, now, tuple(parts), tuple(notes), released_bytes=moved
    )


def bring_up_to_date() -> str:
    """Issue 22: when the inventory cannot vouch for itself, read every repository from the
    registry first (up to REFRESH_MAX_REPOSITORIES; the running sync does the rest); what was
    done and why, "" when the inventory could vouch. Reuses retention's ``refresh_repositories``."""
    why = services.cannot_vouch()
    if not why:
        return ""
    try:
        count = len(get_client().catalog())
        if count > REFRESH_MAX_REPOSITORIES:
            said = (
                f"The inventory cannot vouch for these figures ({why}); with {count:,} repositories they are "
                "not read here: the sync running brings them up to date."
            )
        else:
            read = services.refresh_repositories(lambda name: True)
            said = f"{read} repositor{'y' if read == 1 else 'ies'} read from the registry first: {why}."
    except RegistryError as e:
        said = f"The inventory cannot vouch for these figures ({why}), and the registry could not be read: {e}"
    return said

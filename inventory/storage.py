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

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from inventory import files
from inventory.models import Blob, Manifest, ManifestBlob, ManifestChild, Repository, StorageFilesReport, Tag

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
    None unless the files are the source and were measured.
    """

    source: str
    reason: str
    measured_at: dt.datetime | None
    report: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "read_from": self.source,
            "reason": self.reason,
            "measured_at": self.measured_at.isoformat() if self.measured_at else None,
            **(self.report or {}),
        }


def files_figures() -> FilesFigures:
    recorded = files.recorded_source()
    if recorded is None:
        return FilesFigures("http", "No sync has run yet.", None, None)
    source, reason = str(recorded["source"]), str(recorded["reason"])
    report = StorageFilesReport.objects.filter(pk=1).first() if source == "files" else None
    if report is None:
        return FilesFigures(source, reason, None, None)
    return FilesFigures(source, reason, report.measured_at, report.figures)

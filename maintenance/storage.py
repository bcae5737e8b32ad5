"""Where the space goes: the Storage page and ``GET /api/v1/storage/``, from the inventory alone.

No registry request and no engine call: the bytes on disk come from the newest statistics
sample, what the last GC dry run found from its job, and everything else from the inventory
(tags, manifests, the blobs each manifest references, an index's children).

What a repository "references" is the set of distinct blobs (configs and layers, compressed
sizes as the registry stores them) of the manifests its tags name, with the children of an
index. Attached artifacts count with their subject: a ``sha256-<hex>.sig|.att|.sbom`` or
referrers tag (``Tag.attached_to``), or a tagged manifest with an OCI 1.1 ``subject``, belongs
to the image whose digest it names. A blob is *unique* to a repository (or a namespace, or an
image) when nothing else references it: deleting that repository and collecting gives exactly
these bytes back. *Shared* bytes are the rest; they stay as long as another user does.

Every figure is aggregated in SQL over one set of common table expressions, whatever the
number of repositories; the per-repository table is paged in SQL too.
"""

# The SQL below is put together from table names and fixed fragments only; every value (a
# search, a date, a limit) goes in as a query parameter.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from inventory.models import Blob, Manifest, ManifestBlob, ManifestChild, Repository, Tag
from maintenance import gc_requests
from maintenance.models import Job, StatsSample

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


def _tables() -> dict[str, str]:
    return {
        "tag": Tag._meta.db_table,
        "manifest": Manifest._meta.db_table,
        "manifestblob": ManifestBlob._meta.db_table,
        "child": ManifestChild._meta.db_table,
        "blob": Blob._meta.db_table,
        "repository": Repository._meta.db_table,
    }


# unit_blob: each (repository, image) with the distinct blobs it references. An image is named
# by its root digest: its own, or for an attached artifact the digest of its subject.
_UNITS = """
tag_root AS (
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
),
unit_blob AS (
  SELECT DISTINCT um.repo, um.root, mb.blob_id AS blob
  FROM unit_manifest um JOIN {manifestblob} mb ON mb.manifest_id = um.manifest
),
repo_blob AS (SELECT DISTINCT repo, blob FROM unit_blob),
blob_repos AS (SELECT blob, COUNT(*) AS users FROM repo_blob GROUP BY blob)
"""


def _with(*more: str) -> str:
    return "WITH " + ",\n".join([_UNITS.format(**_tables()), *more])


def _namespace_sql(column: str) -> str:
    """The part of a repository name before its first "/" ("" for top-level names), in SQL."""
    find = "strpos" if connection.vendor == "postgresql" else "instr"
    return f"CASE WHEN {find}({column}, '/') > 0 THEN substr({column}, 1, {find}({column}, '/') - 1) ELSE '' END"


def _rows(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


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

    @property
    def namespace(self) -> str:
        return self.name.split("/", 1)[0] if "/" in self.name else ""

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
        self.search = search
        self._count: int | None = None

    def _where(self) -> tuple[str, list[Any]]:
        if not self.search:
            return "", []
        escaped = self.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return "WHERE r.name LIKE %s ESCAPE '\\'", [f"%{escaped}%"]

    def count(self) -> int:
        if self._count is None:
            where, params = self._where()
            sql = _with() + (
                f" SELECT COUNT(DISTINCT rb.repo) FROM repo_blob rb JOIN {_tables()['repository']} r ON r.id = rb.repo "
                + where
            )
            self._count = int(_rows(sql, params)[0][0] or 0)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[Usage]:
        start = window.start or 0
        stop = window.stop if window.stop is not None else start + self.count()
        where, params = self._where()
        sql = _with() + (
            " SELECT r.name, SUM(b.size) AS referenced,"
            " SUM(CASE WHEN br.users = 1 THEN b.size ELSE 0 END) AS unique_bytes,"
            " SUM(CASE WHEN br.users > 1 THEN b.size ELSE 0 END) AS shared"
            f" FROM repo_blob rb JOIN {_tables()['repository']} r ON r.id = rb.repo"
            f" JOIN {_tables()['blob']} b ON b.id = rb.blob JOIN blob_repos br ON br.blob = rb.blob"
            f" {where} GROUP BY r.id, r.name ORDER BY {self.order_by} LIMIT %s OFFSET %s"
        )
        rows = _rows(sql, [*params, max(0, stop - start), start])
        return [Usage(name, int(referenced or 0), int(unique or 0)) for name, referenced, unique, _ in rows]


def top_repositories(limit: int = TOP_REPOSITORIES) -> list[Usage]:
    """The repositories that reference the most bytes."""
    return RepositoryUsages("referenced")[0:limit]


# --- Per namespace and in total --------------------------------------------------------------


def namespaces(limit: int = NAMESPACES_SHOWN) -> tuple[list[Usage], int]:
    """The namespaces referencing the most bytes (at most ``limit``) and how many there are.

    A namespace's unique bytes are the blobs no repository outside it references: what
    deleting the whole namespace would give back.
    """
    namespace = _namespace_sql("r.name")
    sql = _with(
        f"ns_blob AS (SELECT DISTINCT {namespace} AS ns, rb.blob FROM repo_blob rb "
        f"JOIN {_tables()['repository']} r ON r.id = rb.repo)",
        "blob_ns AS (SELECT blob, COUNT(*) AS users FROM ns_blob GROUP BY blob)",
        f"ns_repos AS (SELECT {namespace} AS ns, COUNT(DISTINCT rb.repo) AS repositories FROM repo_blob rb "
        f"JOIN {_tables()['repository']} r ON r.id = rb.repo GROUP BY {namespace})",
        "ns_usage AS (SELECT nb.ns, SUM(b.size) AS referenced,"
        " SUM(CASE WHEN bn.users = 1 THEN b.size ELSE 0 END) AS unique_bytes"
        f" FROM ns_blob nb JOIN {_tables()['blob']} b ON b.id = nb.blob JOIN blob_ns bn ON bn.blob = nb.blob"
        " GROUP BY nb.ns)",
    ) + (
        " SELECT u.ns, u.referenced, u.unique_bytes, nr.repositories, COUNT(*) OVER () AS total"
        " FROM ns_usage u JOIN ns_repos nr ON nr.ns = u.ns ORDER BY u.referenced DESC, u.ns LIMIT %s"
    )
    rows = _rows(sql, [limit])
    found = [Usage(ns, int(ref or 0), int(uniq or 0), int(repos)) for ns, ref, uniq, repos, _ in rows]
    return found, int(rows[0][4]) if rows else 0


@dataclass(frozen=True)
class Totals:
    repositories: int
    blobs: int
    referenced_bytes: int  # distinct blobs referenced by any tag
    shared_bytes: int  # of those, referenced by more than one repository


def totals() -> Totals:
    sql = _with() + (
        " SELECT COUNT(DISTINCT rb.repo), COUNT(DISTINCT rb.blob),"
        " (SELECT COALESCE(SUM(b.size), 0) FROM blob_repos br JOIN {blob} b ON b.id = br.blob),"
        " (SELECT COALESCE(SUM(b.size), 0) FROM blob_repos br JOIN {blob} b ON b.id = br.blob WHERE br.users > 1)"
        " FROM repo_blob rb"
    ).format(**_tables())
    repositories, blobs, referenced, shared = _rows(sql)[0]
    return Totals(int(repositories or 0), int(blobs or 0), int(referenced or 0), int(shared or 0))


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


def not_pulled(
    days: int = NOT_PULLED_DAYS, limit: int = NOT_PULLED_SHOWN, now: dt.datetime | None = None
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
    sql = _with(
        "blob_units AS (SELECT blob, COUNT(*) AS users FROM unit_blob GROUP BY blob)",
        f"image AS (SELECT t.repository_id AS repo, m.digest AS root, {pulled} AS last_pulled,"
        " MIN(COALESCE(t.pushed_at, t.first_seen)) AS since"
        f" FROM {_tables()['tag']} t JOIN {_tables()['manifest']} m ON m.id = t.manifest_id"
        " WHERE t.attached_to = '' AND m.subject = '' GROUP BY t.repository_id, m.digest"
        f" HAVING ({pulled} IS NULL OR {pulled} < %s) AND MIN(COALESCE(t.pushed_at, t.first_seen)) < %s)",
        "idle AS (SELECT i.repo, i.root, i.last_pulled, i.since,"
        " SUM(CASE WHEN bu.users = 1 THEN b.size ELSE 0 END) AS unique_bytes, SUM(b.size) AS referenced"
        " FROM image i JOIN unit_blob ub ON ub.repo = i.repo AND ub.root = i.root"
        f" JOIN {_tables()['blob']} b ON b.id = ub.blob JOIN blob_units bu ON bu.blob = ub.blob"
        " GROUP BY i.repo, i.root, i.last_pulled, i.since)",
    ) + (
        " SELECT i.repo, r.name, i.root, i.last_pulled, i.since, i.unique_bytes, i.referenced,"
        " COUNT(*) OVER (), SUM(i.unique_bytes) OVER ()"
        f" FROM idle i JOIN {_tables()['repository']} r ON r.id = i.repo"
        " ORDER BY i.unique_bytes DESC, r.name, i.root LIMIT %s"
    )
    rows = _rows(sql, [cutoff, cutoff, limit])
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


# --- Disk, garbage collection, growth ---------------------------------------------------------


def latest_sample() -> StatsSample | None:
    return StatsSample.objects.exclude(storage_bytes=None).first()


def last_dry_run() -> Job | None:
    """The newest successful GC dry run no real run came after (``gc_requests.preview``)."""
    return gc_requests.preview()


def growth(days: int = GROWTH_DAYS, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The stored bytes (and the bytes tags reference) of each statistics sample of the last ``days`` days."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    samples = (
        StatsSample.objects.filter(collected_at__gte=since)
        .exclude(storage_bytes=None, unique_bytes=None)
        .order_by("collected_at", "id")
        .values_list("collected_at", "storage_bytes", "unique_bytes")
    )
    return [
        {"collected_at": when.isoformat(), "storage_bytes": stored, "referenced_bytes": referenced}
        for when, stored, referenced in samples
    ]


def growth_bytes(points: list[dict[str, Any]]) -> int | None:
    """How much the stored bytes grew (or shrank, negative) from the first point to the last."""
    stored = [p["storage_bytes"] for p in points if p["storage_bytes"] is not None]
    return stored[-1] - stored[0] if len(stored) > 1 else None

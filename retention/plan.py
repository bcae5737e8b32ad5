"""What a retention policy deletes, worked out from the inventory: the preview and the run share it.

The semantics (issue 14), per repository:

1. Tags are selected by ``tags`` / ``exclude_tags``; a tag not selected is kept.
2. A selected tag is kept when any keep rule keeps it (OR): ``keep_tags``, ``keep_last`` newest by
   ``order_by`` (tags without that date count as oldest), ``keep_days``, ``keep_pulled_days``.
3. Protected tags (``catalog.protection``) are kept, whatever the policy says.
4. A manifest goes only when every tag pointing to it goes. A tag sharing its digest with a kept
   tag is untagged on registry:3 and kept on 2.x, where a tag cannot go alone
   (distribution#1566); a platform of a kept index is never deleted (untagged on registry:3).
5. Attached artifacts (``sha256-<hex>.sig|.att|.sbom`` and ``sha256-<hex>`` tags, tagged manifests
   with a ``subject``) follow their subject: the keep rules do not count them, they go when it
   loses its last tag and stay while it stays (issue 15).
6. Manifests deleted by digest: on 2.x those whose tags all go; on registry:3 only with
   ``untagged`` (a tag delete leaves its manifest, which a default GC keeps). With ``untagged``
   the platforms of a deleted index that nothing else names go too.

``bytes`` is what a garbage collection after the run frees: the blobs of the deleted manifests
that no manifest left anywhere in the registry references. Manifests the inventory does not
know (untagged before the run) are not counted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from catalog import deletion, protection
from core import patterns
from inventory.models import Blob, Manifest, ManifestBlob, ManifestChild, Repository, Tag
from registry_client.client import RegistryError, get_client
from retention.models import RetentionPolicy

CHUNK = 5000  # ids per query: well under SQLite's 32,766 variables


class PlanUnavailable(Exception):
    """The plan cannot be worked out: the registry refuses deletes or cannot be asked (``status``)."""

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Entry:
    """One tag of a plan: what happens to it and why."""

    tag: str
    digest: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"tag": self.tag, "digest": self.digest, "reason": self.reason}


@dataclass
class RepositoryPlan:
    name: str
    delete: list[Entry] = field(default_factory=list)
    keep: list[Entry] = field(default_factory=list)
    # Manifests the run deletes by digest (indexes before their platforms); tags whose manifest
    # stays are deleted by name (registry:3).
    manifests: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "delete": [e.as_dict() for e in self.delete],
            "keep": [e.as_dict() for e in self.keep],
        }


@dataclass
class Plan:
    policy_id: int
    deletes_tags: bool
    repositories: list[RepositoryPlan]
    bytes: int
    fingerprint: str

    @property
    def tags(self) -> int:
        return sum(len(r.delete) for r in self.repositories)

    @property
    def manifests(self) -> int:
        return sum(len(r.manifests) for r in self.repositories)

    @property
    def deletes_anything(self) -> bool:
        return any(r.delete or r.manifests for r in self.repositories)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repositories": [r.as_dict() for r in self.repositories],
            "tags": self.tags,
            "manifests": self.manifests,
            "bytes": self.bytes,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    digest: str
    manifest_id: int
    date: dt.datetime | None  # by the policy's order_by (naive UTC); None when it has none or no rule reads it
    last_pulled: dt.datetime | None  # naive UTC
    subject: str  # the digest it is attached to, "" for an ordinary tag


def _naive_utc(value: Any) -> dt.datetime | None:
    """A timestamp as naive UTC, read raw: SQLite gives naive UTC (its converter) or text, PostgreSQL aware values."""
    if value is None:
        return None
    parsed: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _raw(queryset: Any) -> Iterable[tuple[Any, ...]]:
    """The rows of a ``values_list`` query without Django's per-value converters (thousands of
    timestamps parsed one by one cost more than the query)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(5000):
            yield from batch


# --- Reading the inventory ------------------------------------------------------------------


def usable(policy: RetentionPolicy) -> None:
    """PlanUnavailable (409) when a pattern saved before RE2 (issue 26) no longer compiles: the plan
    stops rather than guess which way the rule was meant."""
    try:
        for glob in [*(policy.repositories or []), *(policy.exclude_repositories or [])]:
            patterns.compile_glob(glob)
        for pattern in (policy.tags, policy.exclude_tags, policy.keep_tags):
            if pattern:
                patterns.compile_regex(pattern)
    except patterns.PatternInvalid as e:
        raise PlanUnavailable(f"Policy {policy.name!r} cannot run: {e} Edit the policy.", status=409) from e


def matching_repositories(policy: RetentionPolicy) -> list[tuple[int, str]]:
    """(id, name) of the inventory's repositories the policy's globs select, by name."""
    include = list(policy.repositories or [])
    exclude = list(policy.exclude_repositories or [])
    found = []
    for repo_id, name in Repository.objects.order_by("name").values_list("id", "name"):
        if any(patterns.glob_matches(g, name) for g in include) and not any(
            patterns.glob_matches(g, name) for g in exclude
        ):
            found.append((repo_id, name))
    return found


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _rows(policy: RetentionPolicy, repo_ids: list[int], every: bool) -> dict[int, list[_Row]]:
    """The tags of the repositories, with only the dates the policy's rules read (converting
    timestamps is most of the cost of reading thousands of rows)."""
    order = "created" if policy.order_by == RetentionPolicy.OrderBy.CREATED else "pushed_at"  # the column
    dated = bool(policy.keep_last or policy.keep_days)
    fields = [
        "repository_id",
        "name",
        "digest",
        "manifest_id",
        "attached_to",
        "manifest__subject",
        *([order] if dated else []),
        *(["last_pulled"] if policy.keep_pulled_days else []),
    ]
    wanted = set(repo_ids)
    by_repo: dict[int, list[_Row]] = {}
    # Many repositories: every row, filtered here (an IN list of thousands costs more to build).
    many = every or len(repo_ids) > CHUNK
    if not many and not repo_ids:  # no repository selected: an empty IN () is not SQL Django builds
        return {}
    # Ordered by the (repository, name) unique index: each repository's rows come sorted by name.
    tags = Tag.objects.all() if many else Tag.objects.filter(repository_id__in=repo_ids)
    tags = tags.order_by("repository_id", "name")
    pulled_at = -1 if policy.keep_pulled_days else None
    for values in _raw(tags.values_list(*fields)):
        repo_id, name, digest, manifest_id, attached, subject = values[:6]
        if many and repo_id not in wanted:
            continue
        row = _Row(
            name,
            digest,
            manifest_id,
            _naive_utc(values[6]) if dated else None,
            _naive_utc(values[pulled_at]) if pulled_at is not None else None,
            attached or subject or "",
        )
        by_repo.setdefault(repo_id, []).append(row)
    return by_repo


def _children(manifest_ids: set[int]) -> tuple[dict[str, frozenset[str]], list[tuple[int, str]]]:
    """Index digest -> the digests it lists, for the given (tagged) manifests; and every
    (index id, child digest) row of the inventory.

    Only indexes have children, and they are few: every row is read once and filtered here.
    """
    found: dict[str, set[str]] = {}
    every = list(ManifestChild.objects.values_list("parent_id", "parent__digest", "digest"))
    for parent_id, parent, child in every:
        if parent_id in manifest_ids:
            found.setdefault(parent, set()).add(child)
    return {digest: frozenset(children) for digest, children in found.items()}, [(p, c) for p, _, c in every]


def registry_deletes_tags(repository: str) -> bool:
    """Whether the registry deletes a tag alone (registry:3) or only manifests (2.x): asked once."""
    try:
        return deletion.registry_deletes_tags(get_client(), repository)
    except deletion.DeletionDisabled as e:
        raise PlanUnavailable(e.message, status=409) from e
    except RegistryError as e:
        raise PlanUnavailable(e.message, status=e.status if e.status >= 500 else 503) from e


# --- Deciding -----------------------------------------------------------------------------------


def _short(digest: str) -> str:
    return digest[:19]


@dataclass(frozen=True)
class _Rules:
    """A policy's rules, read once for every repository of a plan."""

    tags: str
    exclude_tags: str
    keep_tags: str
    keep_last: int
    order: str
    since: dt.datetime | None  # keep_days: kept if the order date is at least this (naive UTC)
    pulled_since: dt.datetime | None  # keep_pulled_days, the same for the last pull
    keep_days: int
    keep_pulled_days: int
    untagged: bool
    deletes_tags: bool

    @classmethod
    def of(cls, policy: RetentionPolicy, now: dt.datetime, deletes_tags: bool) -> _Rules:
        now = _naive_utc(now) or now
        return cls(
            tags=policy.tags,
            exclude_tags=policy.exclude_tags,
            keep_tags=policy.keep_tags,
            keep_last=policy.keep_last or 0,
            order=str(policy.order_by),
            since=now - dt.timedelta(days=policy.keep_days) if policy.keep_days else None,
            pulled_since=now - dt.timedelta(days=policy.keep_pulled_days) if policy.keep_pulled_days else None,
            keep_days=policy.keep_days or 0,
            keep_pulled_days=policy.keep_pulled_days or 0,
            untagged=policy.untagged,
            deletes_tags=deletes_tags,
        )


_OLDEST = dt.datetime.min


def _rank_key(row: _Row) -> tuple[bool, dt.datetime, str]:
    return (row.date is not None, row.date or _OLDEST, row.name)


def _decide_repository(
    rules: _Rules, name: str, rows: list[_Row], children: dict[str, frozenset[str]], protecting: Sequence[Any]
) -> RepositoryPlan:
    ordinary = [r for r in rows if not r.subject]
    attached = [r for r in rows if r.subject]
    goes: dict[str, bool] = {}
    reason: dict[str, str] = {}
    order = rules.order

    # 1-2. Selection and keep rules (attached tags are not counted).
    considered = []
    for row in ordinary:
        if rules.tags and not patterns.regex_matches(rules.tags, row.name):
            goes[row.name], reason[row.name] = False, f"not selected: does not match tags {rules.tags}"
        elif rules.exclude_tags and patterns.regex_matches(rules.exclude_tags, row.name):
            goes[row.name], reason[row.name] = False, f"not selected: matches exclude_tags {rules.exclude_tags}"
        else:
            considered.append(row)
    rank: dict[str, int] = {}
    if rules.keep_last:
        rank = {row.name: i for i, row in enumerate(sorted(considered, key=_rank_key, reverse=True))}
    for row in considered:
        kept_by = []
        date = row.date
        if rules.keep_tags and patterns.regex_matches(rules.keep_tags, row.name):
            kept_by.append(f"matches keep_tags {rules.keep_tags}")
        if rules.keep_last and rank[row.name] < rules.keep_last:
            kept_by.append(f"among the last {rules.keep_last} by {order}")
        if rules.since is not None and date is not None and date >= rules.since:
            kept_by.append(f"{order} within {rules.keep_days} days")
        if rules.pulled_since is not None and row.last_pulled is not None and row.last_pulled >= rules.pulled_since:
            kept_by.append(f"pulled within {rules.keep_pulled_days} days")
        if kept_by:
            goes[row.name], reason[row.name] = False, "kept: " + "; ".join(kept_by)
            continue
        why = []
        if rules.keep_last:
            why.append(f"number {rank[row.name] + 1} by {order} (keep_last {rules.keep_last})")
        if rules.keep_days or (rules.keep_last and date is None):
            why.append(f"{order} {date:%Y-%m-%d}" if date is not None else f"no {order} date (counts as oldest)")
        if rules.keep_pulled_days:
            why.append(f"last pulled {row.last_pulled:%Y-%m-%d}" if row.last_pulled else "never pulled")
        goes[row.name] = True
        reason[row.name] = "no keep rule keeps it" + (f": {', '.join(why)}" if why else "")

    # 3. Protected tags stay, whatever the policy says.
    if protecting:
        going = [r.name for r in ordinary if goes[r.name]]
        for tag, rule in protection.protected(name, going, rules=protecting).items():
            goes[tag], reason[tag] = False, rule.describe()

    # 4. A manifest goes only when every tag pointing to it goes.
    by_digest: dict[str, list[str]] = {}
    for row in ordinary:
        by_digest.setdefault(row.digest, []).append(row.name)
    if len(by_digest) < len(ordinary):  # some manifest has several tags
        for tags in by_digest.values():
            kept = [t for t in tags if not goes[t]]
            going = [t for t in tags if goes[t]]
            if not kept or not going:
                continue
            for tag in going:
                if rules.deletes_tags:
                    reason[tag] += f"; only the tag goes: its manifest stays for kept tag {kept[0]}"
                else:
                    goes[tag] = False
                    reason[tag] = (
                        f"shares its manifest with kept tag {kept[0]}: Distribution 2.x deletes a tag only with its "
                        "manifest, which would take that tag too"
                    )
    staying: set[str] = set()
    if children:
        staying = {d for d in children if any(not goes[t] for t in by_digest.get(d, []))}
        for digest, tags in by_digest.items():
            parents = sorted(i for i in staying if digest in children[i] and i != digest)
            if not parents:
                continue
            named = ", ".join(by_digest.get(parents[0], [])) or _short(parents[0])
            for tag in tags:
                if not goes[tag]:
                    continue
                if rules.deletes_tags:
                    reason[tag] += f"; only the tag goes: it is a platform of kept index {named}"
                else:
                    goes[tag] = False
                    reason[tag] = f"a platform of kept index {named}: deleting it would break that index"

    # 5. Attached artifacts follow their subject.
    if attached:
        _follow_subjects(rules, name, ordinary, attached, by_digest, goes, reason, protecting)
        staying = {d for d in children if any(not goes[t] for t in by_digest.get(d, []))}

    # 6. Manifests deleted by digest.
    manifests: list[str] = []
    if not rules.deletes_tags or rules.untagged:
        going_all = [d for d, tags in by_digest.items() if all(goes[t] for t in tags)]
        listed_by_staying = {c for i in staying for c in children[i]}
        candidates = [d for d in going_all if d not in listed_by_staying]
        indexes = sorted(d for d in candidates if d in children)
        manifests = indexes + sorted(d for d in candidates if d not in children)
        if rules.untagged and indexes:
            still_tagged = {d for d, tags in by_digest.items() if any(not goes[t] for t in tags)}
            for index in indexes:
                for child in sorted(children[index]):
                    if child not in still_tagged and child not in listed_by_staying and child not in manifests:
                        manifests.append(child)
    plan = RepositoryPlan(name=name, manifests=manifests)
    for row in rows:  # sorted by name (``_rows``)
        (plan.delete if goes[row.name] else plan.keep).append(Entry(row.name, row.digest, reason[row.name]))
    return plan


def _follow_subjects(
    rules: _Rules,
    name: str,
    ordinary: list[_Row],
    attached: list[_Row],
    by_digest: dict[str, list[str]],
    goes: dict[str, bool],
    reason: dict[str, str],
    protecting: Sequence[Any],
) -> None:
    """Attached tags go when their subject loses its last tag, and stay while it stays."""

    def lost_every_tag(digest: str) -> bool:
        tags = by_digest.get(digest, [])
        return bool(tags) and all(goes[t] for t in tags)

    gone = {d for d in by_digest if lost_every_tag(d)}
    tagged = {r.digest for r in ordinary}
    pending = list(attached)
    for _ in range(4):  # a signature's signature: a few levels
        progress = False
        for row in list(pending):
            if row.subject in gone:
                subject_tags = ", ".join(sorted(by_digest.get(row.subject, []))) or _short(row.subject)
                goes[row.name], reason[row.name] = True, f"attached to {subject_tags}: goes with it"
                by_digest.setdefault(row.digest, []).append(row.name)
                pending.remove(row)
                progress = True
        gone |= {r.digest for r in attached if goes.get(r.name) and lost_every_tag(r.digest)}
        if not progress:
            break
    attached_digests = {r.digest for r in attached}
    for row in pending:
        by_digest.setdefault(row.digest, []).append(row.name)
        if row.subject in tagged or row.subject in attached_digests:
            subject_tags = ", ".join(sorted(by_digest.get(row.subject, []))) or _short(row.subject)
            goes[row.name], reason[row.name] = False, f"attached to kept {subject_tags}: stays with it"
        elif rules.untagged:
            goes[row.name] = True
            reason[row.name] = f"attached to {_short(row.subject)}, which no tag names: deleted as untagged"
        else:
            goes[row.name] = False
            reason[row.name] = f"attached to {_short(row.subject)}, which no tag names: turn on untagged to delete it"
    if protecting:
        going = [r.name for r in attached if goes[r.name]]
        for tag, rule in protection.protected(name, going, rules=protecting).items():
            goes[tag], reason[tag] = False, rule.describe()


# --- Bytes ----------------------------------------------------------------------------------------


def freed_bytes(deleted: dict[int, set[int]], children: Sequence[tuple[int, str]]) -> int:
    """The bytes of the blobs only the deleted manifests (repository id -> manifest ids) reference.

    A blob another manifest of the inventory references stays (the inventory keeps a manifest only
    while a tag reaches it). A blob only deleted manifests reference stays too when one of them
    stays somewhere: a digest deleted in one repository may be tagged in another, or remain as a
    platform of an index there. ``children`` is every (index id, child digest) of the inventory.

    Whole tables are read without parameters: with thousands of ids, building the IN lists costs
    more than reading every row (see benchmarks/README.md, "Retention").
    """
    deleted_pairs = {(repo, m) for repo, ms in deleted.items() for m in ms}
    deleted_ids = {m for _, m in deleted_pairs}
    if not deleted_ids:
        return 0
    blobs_of: dict[int, set[int]] = {}
    users: dict[int, int] = {}
    users_deleted: dict[int, int] = {}
    for manifest_id, blob_id in _raw(ManifestBlob.objects.order_by().values_list("manifest_id", "blob_id")):
        users[blob_id] = users.get(blob_id, 0) + 1
        if manifest_id in deleted_ids:
            blobs_of.setdefault(manifest_id, set()).add(blob_id)
            users_deleted[blob_id] = users_deleted.get(blob_id, 0) + 1
    sole = {blob for blob, count in users_deleted.items() if users[blob] == count}
    if not sole:
        return 0
    holders = {m for m, blobs in blobs_of.items() if not blobs.isdisjoint(sole)}
    tagged_in: dict[int, set[int]] = {}  # manifest id -> repositories with a tag on it
    for repo, manifest_id in _raw(Tag.objects.order_by().values_list("repository_id", "manifest_id")):
        tagged_in.setdefault(manifest_id, set()).add(repo)
    present = {(repo, m) for m in holders for repo in tagged_in.get(m, ())}
    wanted_children = [(parent, digest) for parent, digest in children if parent in tagged_in]
    if wanted_children:
        id_by_digest = dict(
            Manifest.objects.filter(id__in=sorted(holders)).values_list("digest", "id")
            if len(holders) <= CHUNK
            else ((d, i) for d, i in Manifest.objects.values_list("digest", "id") if i in holders)
        )
        for parent, digest in wanted_children:
            if digest in id_by_digest:
                present.update((repo, id_by_digest[digest]) for repo in tagged_in[parent])
    for _repo, manifest_id in present - deleted_pairs:
        sole -= blobs_of.get(manifest_id, set())
    return sum(size for blob, size in _raw(Blob.objects.order_by().values_list("id", "size")) if blob in sole)


# --- The plan ---------------------------------------------------------------------------------------


def _fingerprint(policy: RetentionPolicy, deletes_tags: bool, decided: list[tuple[RepositoryPlan, list[_Row]]]) -> str:
    """Changes when the policy, the registry's version or any tag of its repositories changes, or
    what the plan does: a run refuses a preview the registry has moved past."""
    digest = hashlib.sha256()
    settings = [
        policy.pk,
        policy.repositories,
        policy.exclude_repositories,
        policy.tags,
        policy.exclude_tags,
        policy.keep_last,
        policy.order_by,
        policy.keep_days,
        policy.keep_pulled_days,
        policy.keep_tags,
        policy.untagged,
        deletes_tags,
    ]
    digest.update(json.dumps(settings, default=str).encode())
    for plan, rows in decided:
        digest.update(f"\0{plan.name}\0".encode())
        digest.update("\n".join(sorted(f"{r.name}@{r.digest}" for r in rows)).encode())
        digest.update(("\0" + "\n".join(e.tag for e in plan.delete) + "\0" + "\n".join(plan.manifests)).encode())
    return digest.hexdigest()[:32]


def _deleted_ids(repos: list[tuple[int, str]], decided: list[tuple[RepositoryPlan, list[_Row]]]) -> dict[int, set[int]]:
    """Repository id -> ids of the manifests the plan deletes there (platforms looked up by digest)."""
    ids = {name: repo_id for repo_id, name in repos}
    known = {r.digest: r.manifest_id for _, rows in decided for r in rows}
    unknown = sorted({d for plan, _ in decided for d in plan.manifests if d not in known})
    for chunk in _chunks(unknown):
        known.update(Manifest.objects.filter(digest__in=chunk).values_list("digest", "id"))
    return {ids[plan.name]: {known[d] for d in plan.manifests if d in known} for plan, _ in decided if plan.manifests}


def build(
    policy: RetentionPolicy,
    *,
    deletes_tags: bool | None = None,
    now: dt.datetime | None = None,
    with_bytes: bool = True,
) -> Plan:
    """The plan of ``policy`` over the inventory as it is now.

    ``deletes_tags`` is asked of the registry (one harmless DELETE) unless given. Raises
    PlanUnavailable when the registry refuses deletes or cannot be asked.
    """
    now = now or timezone.now()
    usable(policy)
    repos = matching_repositories(policy)
    if deletes_tags is None:
        deletes_tags = registry_deletes_tags(repos[0][1] if repos else "registry-admin-probe")
    every = len(repos) == Repository.objects.count()
    rows = _rows(policy, [repo_id for repo_id, _ in repos], every)
    children, child_rows = _children({r.manifest_id for rs in rows.values() for r in rs})
    protecting = protection.load_rules()
    rules = _Rules.of(policy, now, deletes_tags)
    decided = []
    for repo_id, name in repos:
        repo_rows = rows.get(repo_id, [])
        repo_children = {r.digest: children[r.digest] for r in repo_rows if r.digest in children} if children else {}
        applicable = [rule for rule in protecting if rule.applies_to(name)]
        decided.append((_decide_repository(rules, name, repo_rows, repo_children, applicable), repo_rows))
    bytes_freed = 0
    if with_bytes:
        bytes_freed = freed_bytes(_deleted_ids(repos, decided), child_rows)
    return Plan(
        policy_id=policy.pk,
        deletes_tags=deletes_tags,
        repositories=[plan for plan, _ in decided],
        bytes=bytes_freed,
        fingerprint=_fingerprint(policy, deletes_tags, decided),
    )

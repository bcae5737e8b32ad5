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

from django.utils import timezone

from catalog import deletion, patterns, protection
from catalog.registry import RegistryError, get_client
from inventory.models import Blob, Manifest, ManifestBlob, ManifestChild, Repository, Tag
from retention.models import RetentionPolicy

CHUNK = 500


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


@dataclass(frozen=True)
class _Row:
    name: str
    digest: str
    manifest_id: int
    created: dt.datetime | None
    pushed: dt.datetime | None
    last_pulled: dt.datetime | None
    subject: str  # the digest it is attached to, "" for an ordinary tag


# --- Reading the inventory ------------------------------------------------------------------


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


def _rows(repo_ids: list[int], every: bool) -> dict[int, list[_Row]]:
    fields = ("repository_id", "name", "digest", "manifest_id", "created", "pushed_at", "last_pulled", "attached_to")
    fields_subject = (*fields, "manifest__subject")
    by_repo: dict[int, list[_Row]] = {}
    querysets = (
        [Tag.objects.all()] if every else [Tag.objects.filter(repository_id__in=chunk) for chunk in _chunks(repo_ids)]
    )
    for tags in querysets:
        for repo_id, name, digest, manifest_id, created, pushed, pulled, attached, subject in tags.values_list(
            *fields_subject
        ):
            by_repo.setdefault(repo_id, []).append(
                _Row(name, digest, manifest_id, created, pushed, pulled, attached or subject or "")
            )
    return by_repo


def _children(manifest_ids: set[int]) -> dict[str, frozenset[str]]:
    """Index digest -> the digests it lists, for the given (tagged) manifests."""
    found: dict[str, set[str]] = {}
    ids = sorted(manifest_ids)
    for chunk in _chunks(ids):
        for parent, child in ManifestChild.objects.filter(parent_id__in=chunk).values_list("parent__digest", "digest"):
            found.setdefault(parent, set()).add(child)
    return {digest: frozenset(children) for digest, children in found.items()}


def registry_deletes_tags(repository: str) -> bool:
    """Whether the registry deletes a tag alone (registry:3) or only manifests (2.x): asked once."""
    try:
        return deletion.registry_deletes_tags(get_client(), repository)
    except deletion.DeletionDisabled as e:
        raise PlanUnavailable(e.message, status=409) from e
    except RegistryError as e:
        raise PlanUnavailable(e.message, status=e.status if e.status >= 500 else 503) from e


# --- Deciding -----------------------------------------------------------------------------------


def _date(row: _Row, order_by: str) -> dt.datetime | None:
    return row.created if order_by == RetentionPolicy.OrderBy.CREATED else row.pushed


def _short(digest: str) -> str:
    return digest[:19]


def _decide_repository(
    policy: RetentionPolicy,
    name: str,
    rows: list[_Row],
    children: dict[str, frozenset[str]],
    *,
    deletes_tags: bool,
    now: dt.datetime,
    rules: Sequence[Any],
) -> RepositoryPlan:
    ordinary = [r for r in rows if not r.subject]
    attached = [r for r in rows if r.subject]
    goes: dict[str, bool] = {}
    reason: dict[str, str] = {}

    # 1-2. Selection and keep rules (attached tags are not counted).
    considered = []
    for row in ordinary:
        if policy.tags and not patterns.regex_matches(policy.tags, row.name):
            goes[row.name], reason[row.name] = False, f"not selected: does not match tags {policy.tags}"
        elif policy.exclude_tags and patterns.regex_matches(policy.exclude_tags, row.name):
            goes[row.name], reason[row.name] = False, f"not selected: matches exclude_tags {policy.exclude_tags}"
        else:
            considered.append(row)
    order = policy.order_by
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    ranked = sorted(
        considered, key=lambda r: (_date(r, order) is not None, _date(r, order) or oldest, r.name), reverse=True
    )
    rank = {row.name: i for i, row in enumerate(ranked)}
    for row in considered:
        kept_by = []
        date = _date(row, order)
        if policy.keep_tags and patterns.regex_matches(policy.keep_tags, row.name):
            kept_by.append(f"matches keep_tags {policy.keep_tags}")
        if policy.keep_last and rank[row.name] < policy.keep_last:
            kept_by.append(f"among the last {policy.keep_last} by {order}")
        if policy.keep_days and date is not None and date >= now - dt.timedelta(days=policy.keep_days):
            kept_by.append(f"{order} within {policy.keep_days} days")
        if (
            policy.keep_pulled_days
            and row.last_pulled is not None
            and row.last_pulled >= now - dt.timedelta(days=policy.keep_pulled_days)
        ):
            kept_by.append(f"pulled within {policy.keep_pulled_days} days")
        if kept_by:
            goes[row.name], reason[row.name] = False, "kept: " + "; ".join(kept_by)
            continue
        why = []
        if policy.keep_last:
            why.append(f"number {rank[row.name] + 1} by {order} (keep_last {policy.keep_last})")
        if policy.keep_days or (policy.keep_last and date is None):
            why.append(f"{order} {date:%Y-%m-%d}" if date is not None else f"no {order} date (counts as oldest)")
        if policy.keep_pulled_days:
            why.append(f"last pulled {row.last_pulled:%Y-%m-%d}" if row.last_pulled else "never pulled")
        goes[row.name] = True
        reason[row.name] = "no keep rule keeps it" + (f": {', '.join(why)}" if why else "")

    # 3. Protected tags stay, whatever the policy says.
    def protect(candidates: Iterable[str]) -> None:
        found = protection.protected(name, [t for t in candidates if goes.get(t)], rules=rules)
        for tag, rule in found.items():
            goes[tag], reason[tag] = False, rule.describe()

    protect(r.name for r in ordinary)

    # 4. A manifest goes only when every tag pointing to it goes.
    by_digest: dict[str, list[str]] = {}
    for row in ordinary:
        by_digest.setdefault(row.digest, []).append(row.name)
    for tags in by_digest.values():
        kept = [t for t in tags if not goes[t]]
        going = [t for t in tags if goes[t]]
        if not kept or not going:
            continue
        for tag in going:
            if deletes_tags:
                reason[tag] += f"; only the tag goes: its manifest stays for kept tag {kept[0]}"
            else:
                goes[tag] = False
                reason[tag] = (
                    f"shares its manifest with kept tag {kept[0]}: Distribution 2.x deletes a tag only with its "
                    "manifest, which would take that tag too"
                )

    def kept_indexes() -> set[str]:
        return {d for d in children if any(not goes[t] for t in by_digest.get(d, []))}

    staying = kept_indexes()
    for digest, tags in by_digest.items():
        parents = sorted(i for i in staying if digest in children[i] and i != digest)
        if not parents:
            continue
        named = ", ".join(by_digest.get(parents[0], [])) or _short(parents[0])
        for tag in tags:
            if not goes[tag]:
                continue
            if deletes_tags:
                reason[tag] += f"; only the tag goes: it is a platform of kept index {named}"
            else:
                goes[tag] = False
                reason[tag] = f"a platform of kept index {named}: deleting it would break that index"

    # 5. Attached artifacts follow their subject.
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
    for row in pending:
        by_digest.setdefault(row.digest, []).append(row.name)
        if row.subject in tagged or any(row.subject == r.digest for r in attached):
            subject_tags = ", ".join(sorted(by_digest.get(row.subject, []))) or _short(row.subject)
            goes[row.name], reason[row.name] = False, f"attached to kept {subject_tags}: stays with it"
        elif policy.untagged:
            goes[row.name] = True
            reason[row.name] = f"attached to {_short(row.subject)}, which no tag names: deleted as untagged"
        else:
            goes[row.name] = False
            reason[row.name] = f"attached to {_short(row.subject)}, which no tag names: turn on untagged to delete it"
    protect(r.name for r in attached)

    # 6. Manifests deleted by digest.
    going_all = [d for d, tags in by_digest.items() if tags and all(goes[t] for t in tags)]
    staying = kept_indexes()  # indexes with a tag left
    listed_by_staying = {c for i in staying for c in children[i]}
    manifests: list[str] = []
    if not deletes_tags or policy.untagged:
        candidates = [d for d in going_all if d not in listed_by_staying]
        indexes = sorted(d for d in candidates if d in children)
        manifests = indexes + sorted(d for d in candidates if d not in children)
        if policy.untagged:
            still_tagged = {d for d, tags in by_digest.items() if any(not goes[t] for t in tags)}
            for index in indexes:
                for child in sorted(children[index]):
                    if child not in still_tagged and child not in listed_by_staying and child not in manifests:
                        manifests.append(child)
    plan = RepositoryPlan(name=name, manifests=manifests)
    for row in sorted(rows, key=lambda r: r.name):
        entry = Entry(row.name, row.digest, reason[row.name])
        (plan.delete if goes[row.name] else plan.keep).append(entry)
    return plan


# --- Bytes ----------------------------------------------------------------------------------------


def freed_bytes(deleted: dict[int, set[str]]) -> int:
    """The bytes of the blobs only the deleted (repository id -> digests) manifests reference.

    A manifest left in any repository (tagged, a platform of a tagged index, or left untagged by
    the run) keeps its blobs; a digest deleted in one repository may stay in another.
    """
    digests = {d for ds in deleted.values() for d in ds}
    if not digests:
        return 0
    id_of: dict[str, int] = {}
    for chunk in _chunks(sorted(digests)):
        id_of.update(Manifest.objects.filter(digest__in=chunk).values_list("digest", "id"))
    deleted_pairs = {(repo, id_of[d]) for repo, ds in deleted.items() for d in ds if d in id_of}
    deleted_ids = sorted({m for _, m in deleted_pairs})
    candidates: set[int] = set()
    for chunk in _chunks(deleted_ids):
        candidates.update(ManifestBlob.objects.filter(manifest_id__in=chunk).values_list("blob_id", flat=True))
    if not candidates:
        return 0
    users: dict[int, set[int]] = {}  # manifest id -> candidate blobs it references
    for chunk in _chunks(sorted(candidates)):
        for manifest_id, blob_id in ManifestBlob.objects.filter(blob_id__in=chunk).values_list(
            "manifest_id", "blob_id"
        ):
            users.setdefault(manifest_id, set()).add(blob_id)
    # Where each of those manifests is before the run: tagged, or a platform of a tagged index.
    present: set[tuple[int, int]] = set()
    user_ids = sorted(users)
    for chunk in _chunks(user_ids):
        present.update(Tag.objects.filter(manifest_id__in=chunk).values_list("repository_id", "manifest_id"))
    id_by_digest: dict[str, int] = {}
    for chunk in _chunks(user_ids):
        id_by_digest.update(Manifest.objects.filter(id__in=chunk).values_list("digest", "id"))
    child_rows: list[tuple[int, str]] = []
    for chunk in _chunks(sorted(id_by_digest)):
        child_rows += list(ManifestChild.objects.filter(digest__in=chunk).values_list("parent_id", "digest"))
    parents = sorted({p for p, _ in child_rows})
    parent_repos: dict[int, set[int]] = {}
    for chunk in _chunks(parents):
        for repo, parent in Tag.objects.filter(manifest_id__in=chunk).values_list("repository_id", "manifest_id"):
            parent_repos.setdefault(parent, set()).add(repo)
    for parent, child in child_rows:
        for repo in parent_repos.get(parent, ()):
            present.add((repo, id_by_digest[child]))
    kept: set[int] = set()
    for _repo, manifest_id in present - deleted_pairs:
        kept |= users.get(manifest_id, set())
    freed = sorted(candidates - kept)
    return sum(sum(Blob.objects.filter(id__in=chunk).values_list("size", flat=True)) for chunk in _chunks(freed))


# --- The plan ---------------------------------------------------------------------------------------


def _fingerprint(policy: RetentionPolicy, deletes_tags: bool, decided: list[tuple[RepositoryPlan, list[_Row]]]) -> str:
    document = {
        "policy": [
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
        ],
        "deletes_tags": deletes_tags,
        "repositories": [
            [
                plan.name,
                sorted((r.name, r.digest) for r in rows),
                [e.tag for e in plan.delete],
                plan.manifests,
            ]
            for plan, rows in decided
        ],
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:32]


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
    repos = matching_repositories(policy)
    if deletes_tags is None:
        deletes_tags = registry_deletes_tags(repos[0][1] if repos else "registry-admin-probe")
    every = len(repos) == Repository.objects.count()
    rows = _rows([repo_id for repo_id, _ in repos], every)
    children = _children({r.manifest_id for rs in rows.values() for r in rs})
    rules = protection.load_rules()
    decided = []
    for repo_id, name in repos:
        repo_rows = rows.get(repo_id, [])
        repo_children = {r.digest: children[r.digest] for r in repo_rows if r.digest in children}
        decided.append(
            (
                _decide_repository(
                    policy, name, repo_rows, repo_children, deletes_tags=deletes_tags, now=now, rules=rules
                ),
                repo_rows,
            )
        )
    bytes_freed = 0
    if with_bytes:
        ids = {name: repo_id for repo_id, name in repos}
        bytes_freed = freed_bytes({ids[p.name]: set(p.manifests) for p, _ in decided if p.manifests})
    return Plan(
        policy_id=policy.pk,
        deletes_tags=deletes_tags,
        repositories=[plan for plan, _ in decided],
        bytes=bytes_freed,
        fingerprint=_fingerprint(policy, deletes_tags, decided),
    )

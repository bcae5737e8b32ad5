"""The reconcile: make the inventory match the registry, asking it only about what changed.

1. the catalog and every tag list (``Link`` pages of n=1000; v3.1.1's null last page ends it);
2. a GET by tag for each tag the inventory does not know (one request gives the digest and the
   manifest), a HEAD for each known tag whose digest may have moved: every known tag when
   events are not arriving, otherwise only those not confirmed for INVENTORY_VERIFY_AGE seconds;
3. a GET of each manifest and config never seen (each distinct digest once, an index's
   children included);
4. tags, repositories and manifests gone from the registry are removed. A tag an event
   created while the reconcile ran is kept.

Registry requests run CATALOG_CONCURRENCY at a time; the database is written from the
calling thread only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from catalog.registry import Manifest as RegistryManifest
from catalog.registry import RegistryClient, RegistryNotFound, get_client
from inventory import content
from inventory.models import Blob, Event, Manifest, ManifestBlob, ManifestChild, Repository, Tag

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class Figures:
    """What a reconcile did: the job's result."""

    repositories: int = 0
    tags: int = 0
    requests: dict[str, int] = field(default_factory=lambda: {"catalog": 0, "tag_lists": 0, "head": 0, "get": 0})
    added_tags: int = 0
    moved_tags: int = 0
    removed_tags: int = 0
    added_repositories: int = 0
    removed_repositories: int = 0
    fetched_manifests: int = 0
    removed_manifests: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "repositories": self.repositories,
            "tags": self.tags,
            "requests": dict(self.requests),
            "added_tags": self.added_tags,
            "moved_tags": self.moved_tags,
            "removed_tags": self.removed_tags,
            "added_repositories": self.added_repositories,
            "removed_repositories": self.removed_repositories,
            "fetched_manifests": self.fetched_manifests,
            "removed_manifests": self.removed_manifests,
            "seconds": round(self.seconds, 3),
        }


def parallel(function: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``function`` over ``items``, CATALOG_CONCURRENCY at a time, in order; the first error is raised."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(settings.CATALOG_CONCURRENCY, len(items)), thread_name_prefix="inventory") as pool:
        return list(pool.map(function, items))


def events_trusted() -> bool:
    """Whether the registry's events keep tags current: events are on and at least one arrived."""
    return bool(settings.REGISTRY_EVENTS_TOKEN) and Event.objects.exists()


def reconcile(log: Callable[[str], None] = logger.info, client: RegistryClient | None = None) -> Figures:
    client = client or get_client()
    figures = Figures()
    sent_before = client.request_count
    began = time.monotonic()
    started_at = timezone.now()

    names = sorted(set(client.catalog()))
    figures.requests["catalog"] = 1
    log(f"The registry lists {len(names)} repositories; reading their tag lists.")

    def tag_list(name: str) -> list[str] | None:
        try:
            return sorted(set(client.tags(name)))
        except RegistryNotFound:  # listed in _catalog but gone (its directory removed by hand)
            return None

    lists = {name: tags for name, tags in zip(names, parallel(tag_list, names), strict=True) if tags is not None}
    figures.requests["tag_lists"] = len(names)
    figures.repositories = len(lists)
    figures.tags = sum(len(tags) for tags in lists.values())

    known: dict[tuple[str, str], tuple[str, datetime | None]] = {
        (repo, name): (digest, checked)
        for repo, name, digest, checked in Tag.objects.values_list("repository__name", "name", "digest", "checked_at")
    }
    trusted = events_trusted()
    stale_before = timezone.now() - timedelta(seconds=settings.INVENTORY_VERIFY_AGE)
    unknown = [(repo, tag) for repo, tags in lists.items() for tag in tags if (repo, tag) not in known]
    to_check = [
        (repo, tag)
        for repo, tags in lists.items()
        for tag in tags
        if (repo, tag) in known and (not trusted or (known[repo, tag][1] or stale_before) <= stale_before)
    ]
    log(f"{figures.tags} tags: {len(unknown)} new, {len(to_check)} to check with a HEAD.")

    def get(item: tuple[str, str]) -> RegistryManifest | None:
        try:
            return client.get_manifest(*item)
        except RegistryNotFound:
            return None

    def head(item: tuple[str, str]) -> str | None:
        try:
            return client.head_manifest(*item).digest
        except RegistryNotFound:
            return None

    fetched = dict(zip(unknown, parallel(get, unknown), strict=True))
    checked = dict(zip(to_check, parallel(head, to_check), strict=True))
    figures.requests["get"] += len(unknown)
    figures.requests["head"] += len(to_check)
    resolved: dict[tuple[str, str], str] = {}
    for item, manifest in fetched.items():
        if manifest is not None and manifest.digest:
            resolved[item] = manifest.digest
    for item, digest in checked.items():
        if digest is not None:
            resolved[item] = digest
    for repo, tags in lists.items():
        for tag in tags:
            if (repo, tag) in known and (repo, tag) not in checked:
                resolved[repo, tag] = known[repo, tag][0]

    # Each distinct digest fetched once, with what a GET by tag already brought.
    have = set(Manifest.objects.filter(digest__in=set(resolved.values())).values_list("digest", flat=True))
    have_all = set(Manifest.objects.values_list("digest", flat=True))
    wanted: dict[str, tuple[str, RegistryManifest | None]] = {}
    for item, digest in resolved.items():
        if digest in have or (digest in wanted and wanted[digest][1] is not None):
            continue
        wanted[digest] = (item[0], fetched.get(item))
    requests_before = client.request_count

    def fetch(digest: str) -> content.Content | None:
        repo, manifest = wanted[digest]
        return content.fetch(client, repo, digest, known=frozenset(have_all), manifest=manifest)

    digests = sorted(wanted)
    log(f"Fetching {len(digests)} manifests never seen before.")
    contents = dict(zip(digests, parallel(fetch, digests), strict=True))
    figures.requests["get"] += client.request_count - requests_before
    for item in contents.values():
        if item is not None:
            content.store(item)
            figures.fetched_manifests += 1 + len(item.children)

    _apply(lists, resolved, known, started_at, figures)
    figures.removed_manifests = prune_manifests()
    figures.seconds = time.monotonic() - began
    figures.requests["total"] = client.request_count - sent_before
    log(
        f"Done in {figures.seconds:.1f} s: {figures.added_tags} tags added, {figures.moved_tags} moved, "
        f"{figures.removed_tags} removed; {figures.fetched_manifests} manifests fetched."
    )
    return figures


def _apply(
    lists: dict[str, list[str]],
    resolved: dict[tuple[str, str], str],
    known: dict[tuple[str, str], tuple[str, datetime | None]],
    started_at: datetime,
    figures: Figures,
) -> None:
    now = timezone.now()
    manifests = {
        m.digest: m
        for m in Manifest.objects.filter(digest__in=set(resolved.values())).only("id", "digest", "size", "created")
    }
    with transaction.atomic():
        existing = {repo.name: repo for repo in Repository.objects.all()}
        new = [Repository(name=name) for name in lists if name not in existing]
        Repository.objects.bulk_create(new, ignore_conflicts=True)
        figures.added_repositories = len(new)
        if new:
            existing = {repo.name: repo for repo in Repository.objects.all()}
        gone = [repo.pk for name, repo in existing.items() if name not in lists and repo.first_seen < started_at]
        # A repository stays while an event made during the reconcile put a tag in it.
        gone = list(
            Repository.objects.filter(pk__in=gone)
            .exclude(tags__first_seen__gte=started_at)
            .values_list("pk", flat=True)
        )
        figures.removed_repositories = len(gone)
        Tag.objects.filter(repository_id__in=gone).delete()
        Repository.objects.filter(pk__in=gone).delete()

        creating = []
        for (repo, tag), digest in resolved.items():
            manifest = manifests.get(digest)
            if manifest is None:  # the manifest vanished between the HEAD and the GET
                continue
            if (repo, tag) not in known:
                creating.append(
                    Tag(
                        repository=existing[repo],
                        name=tag,
                        digest=digest,
                        manifest=manifest,
                        size=manifest.size,
                        created=manifest.created,
                        checked_at=now,
                    )
                )
            elif known[repo, tag][0] != digest:
                figures.moved_tags += Tag.objects.filter(
                    Q(event_at__isnull=True) | Q(event_at__lt=started_at), repository=existing[repo], name=tag
                ).update(digest=digest, manifest=manifest, size=manifest.size, created=manifest.created, checked_at=now)
        Tag.objects.bulk_create(creating, ignore_conflicts=True, batch_size=500)
        figures.added_tags = len(creating)
        checked = [(repo, tag) for (repo, tag) in resolved if (repo, tag) in known]
        for repo, tags in _by_repository(checked).items():
            Tag.objects.filter(repository=existing[repo], name__in=tags).update(checked_at=now)

        # Tags the registry no longer lists, unless an event made them while we were listing.
        for name, repo in existing.items():
            if name not in lists:
                continue
            present = {tag for tag in lists[name] if (name, tag) in resolved}
            stale_ids = [
                pk
                for pk, tag in Tag.objects.filter(repository=repo, first_seen__lt=started_at)
                .filter(Q(event_at__isnull=True) | Q(event_at__lt=started_at))
                .values_list("pk", "name")
                if tag not in present
            ]
            for start in range(0, len(stale_ids), 500):
                figures.removed_tags += Tag.objects.filter(pk__in=stale_ids[start : start + 500]).delete()[0]
        refresh_repository_stats(list(existing))


def _by_repository(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for repo, tag in items:
        grouped.setdefault(repo, []).append(tag)
    return grouped


def refresh_repository_stats(names: list[str] | None = None) -> None:
    """``last_pushed`` of repositories from their tags' push times (events only know them)."""
    queryset = Repository.objects.all() if names is None else Repository.objects.filter(name__in=names)
    pushed = dict(
        Tag.objects.filter(repository__in=queryset, pushed_at__isnull=False)
        .values_list("repository_id")
        .annotate(last=Max("pushed_at"))
        .values_list("repository_id", "last")
    )
    for repo in queryset.only("id", "last_pushed"):
        value = pushed.get(repo.pk)
        if value is not None and value != repo.last_pushed:
            Repository.objects.filter(pk=repo.pk).update(last_pushed=value)


def prune_manifests() -> int:
    """Remove manifests no tag reaches (directly or as a child of a tagged index), then unused blobs."""
    tagged = set(Tag.objects.values_list("manifest_id", flat=True).distinct())
    reachable_digests = set(ManifestChild.objects.filter(parent_id__in=tagged).values_list("digest", flat=True))
    reachable = tagged | set(Manifest.objects.filter(digest__in=reachable_digests).values_list("id", flat=True))
    orphans = [pk for pk in Manifest.objects.values_list("id", flat=True) if pk not in reachable]
    removed = 0
    for start in range(0, len(orphans), 500):
        removed += Manifest.objects.filter(pk__in=orphans[start : start + 500]).delete()[1].get("inventory.Manifest", 0)
    if removed:
        _prune_blobs()
    return removed


def _prune_blobs() -> None:
    used = set(ManifestBlob.objects.values_list("blob_id", flat=True).distinct())
    unused = [pk for pk in Blob.objects.values_list("id", flat=True) if pk not in used]
    for start in range(0, len(unused), 500):
        Blob.objects.filter(pk__in=unused[start : start + 500]).delete()

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
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory import attachments, bulk, content, gaps
from inventory.models import (
    Attachment,
    Blob,
    EventsState,
    Manifest,
    ManifestBlob,
    ManifestChild,
    Repository,
    SyncState,
    Tag,
)
from inventory.types import SyncResult
from registry_client.client import Manifest as RegistryManifest
from registry_client.client import RegistryClient, RegistryNotFound, get_client
from registry_client.references import attached_to

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class Figures:
    """What a reconcile did: the job's result."""

    repositories: int = 0
    tags: int = 0
    requests: dict[str, int] = field(default_factory=lambda: {"catalog": 0, "tag_lists": 0, "head": 0, "get": 0})
    skipped_heads: int = 0
    added_tags: int = 0
    moved_tags: int = 0
    removed_tags: int = 0
    added_repositories: int = 0
    removed_repositories: int = 0
    fetched_manifests: int = 0
    removed_manifests: int = 0
    seconds: float = 0.0

    def as_dict(self) -> SyncResult:
        return {
            "repositories": self.repositories,
            "tags": self.tags,
            "requests": dict(self.requests),
            "skipped_heads": self.skipped_heads,
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


def attached_digest(tag: str) -> str:
    subject = attached_to(tag)
    return subject[0] if subject else ""


def synced_once() -> bool:
    """Whether a sync has finished: from then on the catalog reads the inventory."""
    return SyncState.finished_once()


def events_trusted() -> bool:
    """Whether the registry's events keep tags current: events are on, applied since a time, and no
    events gap has happened since the last reconcile (``inventory.gaps``). Then a reconcile HEADs
    only the tags not confirmed for INVENTORY_VERIFY_AGE; otherwise every known tag."""
    if not settings.REGISTRY_EVENTS_TOKEN or not synced_once():
        return False
    state = EventsState.objects.filter(pk=1).first()
    return state is not None and state.tracking_since is not None and not gaps.open_gaps()


def reconcile(log: Callable[[str], None] = logger.info, client: RegistryClient | None = None) -> Figures:
    client = client or get_client()
    figures = Figures()
    sent_before = client.request_count
    began = time.monotonic()
    started_at = timezone.now()
    SyncState.objects.update_or_create(pk=1, defaults={"last_started": started_at})

    names = sorted(set(client.catalog()))
    figures.requests["catalog"] = client.request_count - sent_before
    log(f"The registry lists {len(names)} repositories; reading their tag lists.")

    def tag_list(name: str) -> list[str] | None:
        try:
            return sorted(set(client.tags(name)))
        except RegistryNotFound:  # listed in _catalog but gone (its directory removed by hand)
            return None

    lists = {name: tags for name, tags in zip(names, parallel(tag_list, names), strict=True) if tags is not None}
    figures.requests["tag_lists"] = client.request_count - sent_before - figures.requests["catalog"]
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
    figures.skipped_heads = figures.tags - len(unknown) - len(to_check)
    log(
        f"{figures.tags} tags: {len(unknown)} new, {len(to_check)} to check with a HEAD"
        + (f", {figures.skipped_heads} not (events vouch for them)." if figures.skipped_heads else ".")
    )

    # Each task resolves one tag (a GET for an unknown tag brings the manifest too, a HEAD for a
    # known one) and, if its digest is new to the inventory and to every other task, fetches
    # its content at once; this thread stores results as they come, overlapping the writes
    # with the requests still running.
    stored = content.Stored.load()
    claimed = set(stored.manifests)
    claim_lock = threading.Lock()

    def resolve(job: tuple[str, str, bool]) -> tuple[str | None, content.Content | None]:
        repo, tag, is_new = job
        manifest: RegistryManifest | None = None
        try:
            if is_new:
                manifest = client.get_manifest(repo, tag)
                digest = manifest.digest
            else:
                digest = client.head_manifest(repo, tag).digest
        except RegistryNotFound:
            return None, None
        if not digest:
            return None, None
        with claim_lock:
            if digest in claimed:
                return digest, None
            claimed.add(digest)
        return digest, content.fetch(client, repo, digest, known=claimed, manifest=manifest)

    jobs = [(repo, tag, True) for repo, tag in unknown] + [(repo, tag, False) for repo, tag in to_check]
    log(f"Tag lists read in {time.monotonic() - began:.1f} s; resolving {len(jobs)} tags.")
    resolved: dict[tuple[str, str], str] = {}
    for repo, tags in lists.items():
        for tag in tags:
            if (repo, tag) in known:
                resolved[repo, tag] = known[repo, tag][0]
    checked: set[tuple[str, str]] = set()
    pending: list[content.Content] = []
    # New tags are written as their manifests are, while the other requests run; _apply then
    # has only the rest to do (writing 15,000 tags after the requests took 5-10 s).
    repositories = _add_repositories(lists, figures)
    new_tags: list[tuple[str, str, str]] = []
    written: set[tuple[str, str]] = set()
    # This thread's writes hold the GIL between the requests' socket calls: a thread waiting on
    # a socket then waits up to the switch interval (5 ms) to run again, on each of its calls.
    # A shorter interval while the requests run keeps them moving (benchmarks/README.md).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, 0.0005))
    try:
        with ThreadPoolExecutor(settings.CATALOG_CONCURRENCY, thread_name_prefix="inventory") as pool:
            futures = {pool.submit(resolve, job): job for job in jobs}
            every = max(500, len(jobs) // 20)  # the job's progress, about every 5 %
            for done, future in enumerate(as_completed(futures), start=1):
                if done % every == 0:
                    log(f"Progress: {done:,} of {len(jobs):,} tags resolved.")
                # Popped, so that each fetched body is freed once stored (15,000 held at once
                # made a first sync's peak RSS 250 MB).
                repo, tag, is_new = futures.pop(future)
                digest, fetched = future.result()
                if not is_new:
                    checked.add((repo, tag))
                if digest is None:
                    resolved.pop((repo, tag), None)  # deleted since the tag list was read
                    continue
                resolved[repo, tag] = digest
                if is_new:
                    new_tags.append((repo, tag, digest))
                if fetched is not None:
                    pending.append(fetched)
                if len(pending) >= 200 or len(new_tags) >= 1000:
                    _store(pending, figures, new_tags, repositories, written, stored)
    finally:
        sys.setswitchinterval(switch_interval)
    _store(pending, figures, new_tags, repositories, written, stored)
    figures.requests["head"] = len(to_check)
    figures.requests["get"] = (
        client.request_count - sent_before - figures.requests["catalog"] - figures.requests["tag_lists"] - len(to_check)
    )
    log(f"{figures.fetched_manifests} manifests fetched and stored.")

    applied_at = time.monotonic()
    _apply(lists, resolved, known, checked, written, started_at, figures, stored=stored)
    log(f"Tags and repositories written in {time.monotonic() - applied_at:.1f} s.")
    figures.removed_manifests = prune_manifests()
    figures.seconds = time.monotonic() - began
    figures.requests["total"] = client.request_count - sent_before
    SyncState.objects.filter(pk=1).update(last_finished=timezone.now(), last_result=figures.as_dict())
    # The gaps detected before this reconcile began are covered; one detected since asks for another.
    gaps.reconciled(started_at)
    if gaps.open_gaps():
        gaps.ask_for_reconcile()
    log(
        f"Done in {figures.seconds:.1f} s: {figures.added_tags} tags added, {figures.moved_tags} moved, "
        f"{figures.removed_tags} removed; {figures.fetched_manifests} manifests fetched; "
        f"{figures.requests['total']} registry requests, {figures.skipped_heads} HEADs skipped."
    )
    return figures


def _add_repositories(lists: dict[str, list[str]], figures: Figures) -> dict[str, int]:
    """Create the listed repositories the inventory lacks; every repository's id by name."""
    existing = dict(Repository.objects.values_list("name", "pk"))
    new = [(name,) for name in lists if name not in existing]
    if new:  # one prepared INSERT (bulk_create's instances cost 1.3 s at 10,000 repositories)
        bulk.insert(Repository, ("name",), new, ignore_conflicts=True)
        figures.added_repositories += len(new)
        existing = dict(Repository.objects.values_list("name", "pk"))
    return existing


def _store(
    pending: list[content.Content],
    figures: Figures,
    new_tags: list[tuple[str, str, str]],
    repositories: dict[str, int],
    written: set[tuple[str, str]],
    stored: content.Stored,
    pushed: dict[tuple[str, str], datetime] | None = None,
) -> None:
    """Write the fetched manifests, then the new tags whose manifests are stored (a tag whose
    digest another task still fetches waits for a later batch, or for _apply). ``stored``: the
    inventory's manifests and blobs by digest, read once by the caller and kept current here;
    ``pushed``: the new tags' push times, when the caller knows them (the tag links' times)."""
    pushed = pushed or {}
    with transaction.atomic():  # one commit per batch: SQLite's commits are the slow part
        figures.fetched_manifests += content.store_many(pending, stored)
        now = timezone.now()
        ready = [
            (repo, tag, digest) for repo, tag, digest in new_tags if digest in stored.manifests and repo in repositories
        ]
        bulk.insert(
            Tag,
            (
                "repository_id",
                "name",
                "digest",
                "manifest_id",
                "size",
                "created",
                "checked_at",
                "attached_to",
                "pushed_at",
            ),
            (
                (
                    repositories[repo],
                    tag,
                    digest,
                    *stored.manifests[digest],
                    now,
                    attached_digest(tag),
                    pushed.get((repo, tag)),
                )
                for repo, tag, digest in ready
            ),
            ignore_conflicts=True,
        )
    figures.added_tags += len(ready)
    written.update((repo, tag) for repo, tag, _ in ready)
    new_tags[:] = [entry for entry in new_tags if entry[2] not in stored.manifests or entry[0] not in repositories]
    pending.clear()


def _apply(
    lists: dict[str, list[str]],
    resolved: dict[tuple[str, str], str],
    known: dict[tuple[str, str], tuple[str, datetime | None]],
    checked: set[tuple[str, str]],
    written: set[tuple[str, str]],
    started_at: datetime,
    figures: Figures,
    refresh: bool = True,
    stored: content.Stored | None = None,
) -> int:
    """Everything the requests' loop left: the new tags it could not write yet, moved tags,
    confirmations, what is gone, the attachments whose subject went, the repositories' sizes
    (unless ``refresh`` is False: the caller refreshes them when something changed). ``stored``:
    the manifests as the loop kept them. The number of attachments dropped."""
    now = timezone.now()
    # Every stored manifest's figures, as tuples: the tags reach nearly all of them, and an IN
    # over 15,000 digests costs more (and SQLite caps a query's parameters at 32,766).
    manifests = (stored or content.Stored.load()).manifests
    with transaction.atomic():
        # (id, first_seen) by name: 10,000 model instances cost 0.4 s of an unchanged sync.
        existing = _repositories()
        new = [(name,) for name in lists if name not in existing]
        bulk.insert(Repository, ("name",), new, ignore_conflicts=True)
        figures.added_repositories += len(new)
        if new:
            existing = _repositories()
        gone = [pk for name, (pk, first_seen) in existing.items() if name not in lists and first_seen < started_at]
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
            if (repo, tag) in written:  # by the requests' loop
                continue
            if digest not in manifests:  # the manifest vanished between the HEAD and the GET
                continue
            manifest_id, size, created = manifests[digest]
            if (repo, tag) not in known:
                creating.append(
                    Tag(
                        repository_id=existing[repo][0],
                        name=tag,
                        digest=digest,
                        manifest_id=manifest_id,
                        size=size,
                        created=created,
                        checked_at=now,
                        attached_to=attached_digest(tag),
                    )
                )
            elif known[repo, tag][0] != digest:
                figures.moved_tags += Tag.objects.filter(
                    Q(event_at__isnull=True) | Q(event_at__lt=started_at), repository_id=existing[repo][0], name=tag
                ).update(digest=digest, manifest_id=manifest_id, size=size, created=created, checked_at=now)
        Tag.objects.bulk_create(creating, ignore_conflicts=True, batch_size=500)
        figures.added_tags += len(creating)

        # One read of every tag, then batched writes: a query per repository took 80 s at
        # 10,000 repositories (benchmarks/README.md).
        names = {pk: name for name, (pk, _) in existing.items() if name in lists}
        confirmed: list[int] = []
        stale: list[int] = []
        for pk, repo_id, tag, first_seen, event_at in Tag.objects.values_list(
            "pk", "repository_id", "name", "first_seen", "event_at"
        ):
            if repo_id not in names:  # made by an event during this sync: not in our lists
                continue
            key = (names[repo_id], tag)
            if key in resolved:
                if key in checked:
                    confirmed.append(pk)
            elif first_seen < started_at and (event_at is None or event_at < started_at):
                # The registry no longer lists it, and no event made it while we were listing.
                stale.append(pk)
        for batch in _batches(confirmed):
            Tag.objects.filter(pk__in=batch).update(checked_at=now)
        for batch in _batches(stale):
            figures.removed_tags += Tag.objects.filter(pk__in=batch).delete()[0]
        # Before the sizes: an attachment whose subject lost its last tag no longer counts in its
        # repository's size (the statistics' largest repositories read it).
        dropped = attachments.drop_detached()  # pushed by digest, unlisted: they go when their subject goes
        if refresh:
            refresh_repositories(None if len(existing) > 500 else list(existing))
    return dropped


def _repositories() -> dict[str, tuple[int, datetime]]:
    """Every repository's (id, first_seen) by name."""
    return {
        name: (pk, first_seen) for name, pk, first_seen in Repository.objects.values_list("name", "pk", "first_seen")
    }


def _batches(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def blob_sets(repo_ids: list[int] | None = None) -> tuple[dict[int, set[int]], dict[int, int], dict[int, datetime]]:
    """Per repository the blob ids its tags reach (index platforms included), every blob's size,
    and the newest push time; a handful of queries for any number of repositories."""
    tags = Tag.objects.all() if repo_ids is None else Tag.objects.filter(repository_id__in=repo_ids)
    manifests_of: dict[int, set[int]] = {}
    pushed: dict[int, datetime] = {}
    for repo_id, manifest_id, pushed_at in tags.values_list("repository_id", "manifest_id", "pushed_at"):
        manifests_of.setdefault(repo_id, set()).add(manifest_id)
        if pushed_at is not None and (repo_id not in pushed or pushed[repo_id] < pushed_at):
            pushed[repo_id] = pushed_at
    found = Attachment.objects.all() if repo_ids is None else Attachment.objects.filter(repository_id__in=repo_ids)
    for repo_id, manifest_id in found.values_list("repository_id", "manifest_id"):
        manifests_of.setdefault(repo_id, set()).add(manifest_id)
    tagged = set().union(*manifests_of.values()) if manifests_of else set()
    # For every repository, whole tables read and filtered here: an IN over the 15,000 tagged
    # manifests of 10,000 repositories costs more than the rows it leaves out.
    children_of = (
        ManifestChild.objects.all() if repo_ids is None else ManifestChild.objects.filter(parent_id__in=tagged)
    )
    child_rows = [
        (parent, digest) for parent, digest in children_of.values_list("parent_id", "digest") if parent in tagged
    ]
    ids_by_digest = dict(Manifest.objects.filter(digest__in={d for _, d in child_rows}).values_list("digest", "id"))
    children: dict[int, set[int]] = {}
    for parent_id, digest in child_rows:
        if digest in ids_by_digest:
            children.setdefault(parent_id, set()).add(ids_by_digest[digest])
    every = tagged | set(ids_by_digest.values())
    blobs_of: dict[int, set[int]] = {}
    sizes: dict[int, int] = {}
    links = ManifestBlob.objects.all() if repo_ids is None else ManifestBlob.objects.filter(manifest_id__in=every)
    for manifest_id, blob_id, size in links.values_list("manifest_id", "blob_id", "blob__size"):
        if manifest_id in every:
            blobs_of.setdefault(manifest_id, set()).add(blob_id)
            sizes[blob_id] = size
    reached_blobs: dict[int, set[int]] = {}
    for repo_id, manifest_ids in manifests_of.items():
        reached = set(manifest_ids)
        for manifest_id in manifest_ids:
            reached |= children.get(manifest_id, set())
        reached_blobs[repo_id] = set().union(*(blobs_of.get(m, set()) for m in reached)) if reached else set()
    return reached_blobs, sizes, pushed


def refresh_repositories(names: list[str] | None = None) -> None:
    """Recompute ``size`` (distinct blobs of the tags' manifests, index platforms included) and
    ``last_pushed`` of the named repositories (all when None)."""
    update_repositories(changed_repositories(names))


def changed_repositories(names: list[str] | None = None) -> list[tuple[int, datetime | None, int]]:
    """The read half of ``refresh_repositories``: the named repositories' (all when None) figures
    recomputed, as ``(size, last_pushed, id)`` rows for ``update_repositories``, those unchanged
    left out. The events' applier reads them before the writer lock and writes them under it."""
    repos = Repository.objects.all() if names is None else Repository.objects.filter(name__in=names)
    known = {pk: (size, last) for pk, size, last in repos.values_list("id", "size", "last_pushed")}
    if not known:
        return []
    reached, sizes, pushed = blob_sets(None if names is None else list(known))
    changed = []
    for repo_id, (size, last) in known.items():
        figures = (sum(sizes[b] for b in reached.get(repo_id, ())), pushed.get(repo_id) or last)
        if figures != (size, last):
            changed.append((*figures, repo_id))
    return changed


def update_repositories(rows: list[tuple[int, datetime | None, int]]) -> None:
    """``(size, last_pushed, id)`` rows written with one prepared UPDATE (``bulk.update``:
    ``bulk_update``'s CASE expressions took 30 s of Python for 10,000 repositories)."""
    if rows:
        with transaction.atomic():
            bulk.update(Repository, ("size", "last_pushed"), rows)


def sync_repository(name: str, client: RegistryClient | None = None) -> bool:
    """Read one repository from the registry into the inventory now; False when the registry does
    not have it.

    For a page or API call naming a repository (or a tag of it) the inventory does not know yet:
    pushed since the last sync with events off, or not reached yet by the first sync. Its tag
    list, a GET of each tag the inventory lacks (the manifest, and its content when new), the
    tags the registry no longer lists removed. Known tags keep their digest until the next
    sync checks them, as between two syncs.
    """
    client = client or get_client()
    started_at = timezone.now()
    try:
        listed = sorted(set(client.tags(name)))
    except RegistryNotFound:
        return False
    repository, _ = Repository.objects.get_or_create(name=name)
    known = set(Tag.objects.filter(repository=repository).values_list("name", flat=True))

    def resolve(tag: str) -> RegistryManifest | None:
        try:
            return client.get_manifest(name, tag)
        except RegistryNotFound:  # deleted since the tag list was read
            return None

    new = [tag for tag in listed if tag not in known]
    found = {tag: m for tag, m in zip(new, parallel(resolve, new), strict=True) if m is not None and m.digest}
    digests = {m.digest for m in found.values()}
    have = set(Manifest.objects.filter(digest__in=digests).values_list("digest", flat=True))
    fresh = list({m.digest: m for m in found.values() if m.digest not in have}.values())
    fetched = parallel(lambda m: content.fetch(client, name, m.digest, known=have, manifest=m), fresh)
    # In one transaction, a few statements: one store (and one commit) per manifest took about
    # half of a first visit of 300 tags (benchmarks/README.md, catalog-benchmark).
    with transaction.atomic():
        content.store_many([item for item in fetched if item is not None])
    stored = {
        digest: (pk, size, created)
        for digest, pk, size, created in Manifest.objects.filter(digest__in=digests).values_list(
            "digest", "pk", "size", "created"
        )
    }
    now = timezone.now()
    with transaction.atomic():
        Tag.objects.bulk_create(
            [
                Tag(
                    repository=repository,
                    name=tag,
                    digest=manifest.digest,
                    manifest_id=stored[manifest.digest][0],
                    size=stored[manifest.digest][1],
                    created=stored[manifest.digest][2],
                    checked_at=now,
                    attached_to=attached_digest(tag),
                )
                for tag, manifest in found.items()
                if manifest.digest in stored
            ],
            ignore_conflicts=True,
        )
        # Gone from the registry's list, unless an event made it while we were reading.
        Tag.objects.filter(repository=repository, first_seen__lt=started_at).exclude(name__in=listed).filter(
            Q(event_at__isnull=True) | Q(event_at__lt=started_at)
        ).delete()
    attachments.drop_detached([name])
    refresh_repositories([name])
    return True


def fetch_manifest(name: str, digest: str, client: RegistryClient | None = None) -> Manifest | None:
    """The inventory's manifest of ``digest``, read from repository ``name`` of the registry when
    the inventory lacks it; None when the registry does not have it there."""
    client = client or get_client()
    try:
        client.head_manifest(name, digest)
    except RegistryNotFound:
        return None
    existing = Manifest.objects.filter(digest=digest).first()
    if existing is not None:
        attachments.attach(name, existing)
        return existing
    fetched = content.fetch(client, name, digest)
    if fetched is None:
        return None
    manifest = content.store(fetched)
    attachments.attach(name, manifest)  # an artifact naming a subject here, as its push event would
    return manifest


def forget(repository: str, tags: Sequence[str] = (), digests: Sequence[str] = ()) -> int:
    """A delete through the dashboard succeeded: drop those tags (and every tag on ``digests``) now."""
    found = Tag.objects.filter(repository__name=repository)
    removed = found.filter(name__in=list(tags)).delete()[0] if tags else 0
    if digests:
        removed += found.filter(digest__in=list(digests)).delete()[0]
        attachments.detach(repository, digests)
    attachments.drop_detached([repository])
    refresh_repositories([repository])
    return removed


def prune_manifests() -> int:
    """Remove manifests no tag reaches (directly or as a child of a tagged index) and no subject
    holds (``inventory.attachments``), then unused blobs."""
    tagged = set(Tag.objects.values_list("manifest_id", flat=True).distinct()) | attachments.attached_manifest_ids()
    reachable_digests = {  # every row read: an IN over every tagged manifest costs more
        digest for parent, digest in ManifestChild.objects.values_list("parent_id", "digest") if parent in tagged
    }
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

"""The registry's notifications applied to the inventory, by a worker (``inventory.tasks``).

``inventory.receiving`` stores each envelope's events as the web process receives them;
``apply_pending`` applies the stored, unapplied ones in timestamp order, in batches, in a
worker's task sent by the web (``inventory.receiving.wake``), at the worker's start, every few
seconds as a sweep, and around every reconcile: an event stored while no worker ran, or by a
worker killed before its batch committed, is applied when one runs again.

A batch first fetches from the registry the manifests its pushes name that the inventory lacks
(each digest once, ``CATALOG_CONCURRENCY`` at a time, outside any transaction), then claims and
applies its events ``CHUNK`` at a time, each chunk in one transaction that locks ``EventsState``:
appliers never interleave, so a client pull is counted once. On SQLite, whose one writer the
web's inserts share, a chunk's reads (its pulls worked out) come before the events' writer lock,
a chunk's consecutive pushes of tags are written in a few statements, announcements are made
once it commits, and the receivers waiting for the lock go first between two chunks
(``receiving.make_way``): the registry waits on each answer (benchmarks/README.md, Events).

- push of a manifest with a tag: the tag points at that digest from then on; an older event
  arriving late changes nothing.
- push of a manifest by digest (no tag; an index's platforms, an SBOM or signature pushed
  with a ``subject``): stored; one whose subject is in the same repository is attached to it
  (``inventory.attachments``), the only way to know of it: the registry lists no untagged
  manifest and distribution v3 has no referrers API.
- delete: with a tag (v3), that tag goes; by digest, every tag of the repository on it goes
  (distribution#1566), and so does an attached artifact of that digest; artifacts whose
  subject no tag reaches any more go with it.
- pull of a manifest: the tag's and the image's last pull; counted once per client pull: a
  GET by digest right after a HEAD by tag of the same digest, from the same address and
  client, is the same pull. The dashboard's own requests (User-Agent registry-admin/...) are
  dropped before anything is stored.
- blob events and anything without a repository are kept for the Activity page only.
- a new ``source.instanceID``: the registry restarted and lost its queue (distribution#2422):
  an events gap is recorded (``inventory.gaps``).
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from core import notable
from inventory import attachments, bulk, content, gaps, receiving, sync
from inventory.models import Event, EventsState, Manifest, Repository, Tag
from registry_client.client import MANIFEST_TYPES, RegistryClient, RegistryError, get_client

logger = logging.getLogger(__name__)

# A GET by digest this soon after a HEAD by tag of the same digest is the same client pull.
PULL_WINDOW = timedelta(seconds=60)
# Events read and their manifests fetched at a time.
BATCH = 100
# Events applied per transaction (under the events' writer lock on SQLite): short enough that the
# web's inserts, waiting on SQLite's one writer meanwhile, are not held up for long, and let in
# between two (benchmarks/README.md).
CHUNK = 25


@dataclass
class Applied:
    """What ``apply_pending`` did: events applied, registry requests, manifests fetched."""

    events: int = 0
    requests: int = 0
    fetched: int = 0
    batches: int = 0
    pushes: int = 0
    seconds: float = 0.0
    gaps: list[str] = field(default_factory=list)


def apply_pending(limit: int = BATCH, client: RegistryClient | None = None, drain: bool = True) -> Applied:
    """Apply the stored, unapplied events, oldest first, ``limit`` a transaction.

    ``drain=False`` (the worker's task) stops after a batch smaller than ``limit``: what arrived
    while it was applied has sent a task of its own, which waits a moment and takes it all in
    one batch, instead of this loop applying a few events a transaction while the web's
    inserts wait on each."""
    began = time.monotonic()
    done = Applied()
    while True:
        batch = list(Event.objects.filter(processed=False).order_by("timestamp", "id")[:limit])
        if not batch:
            break
        client = client or get_client()
        sent = client.request_count
        done.fetched += _fetch_missing(client, batch)
        done.requests += client.request_count - sent
        _apply_batch([event.pk for event in batch], done)
        done.batches += 1
        if not drain and len(batch) < limit:
            break
    done.seconds = time.monotonic() - began
    return done


def _fetch_missing(client: RegistryClient, batch: list[Event]) -> int:
    """Fetch and store the manifests the batch's pushes name and the inventory lacks (HTTP only
    here, never inside the batch's transaction); how many were stored."""
    wanted: dict[str, str] = {}
    for event in batch:
        if event.action == "push" and event.repository and event.digest and event.media_type in MANIFEST_TYPES:
            wanted.setdefault(event.digest, event.repository)
    if not wanted:
        return 0
    have = set(Manifest.objects.filter(digest__in=list(wanted)).values_list("digest", flat=True))
    missing = [(repository, digest) for digest, repository in wanted.items() if digest not in have]
    if not missing:
        return 0
    known = set(Manifest.objects.values_list("digest", flat=True))

    def fetch(item: tuple[str, str]) -> content.Content | None:
        repository, digest = item
        try:
            return content.fetch(client, repository, digest, known=known)
        except RegistryError as e:  # unreachable, or deleted since: the event is applied without it
            logger.warning("Event for %s@%s: %s", repository, digest, e.message)
            return None

    fetched = [found for found in sync.parallel(fetch, missing) if found is not None]
    with transaction.atomic():
        return content.store_many(fetched)


def _apply_batch(ids: list[int], done: Applied) -> None:
    """Apply a batch's events, ``CHUNK`` at a time: each chunk in a transaction of its own, under
    the events' writer lock for its writes only, and the receivers let in between two chunks
    (``receiving.make_way``): the web's inserts never wait for a whole batch."""
    with receiving.applier_lock():
        claimed = list(Event.objects.filter(pk__in=ids, processed=False).order_by("timestamp", "id"))
        # On SQLite no other applier runs (the applier lock): the pulls are worked out once for the
        # batch, before the writer lock, which the web's inserts wait on, is taken.
        plan = _plan_pulls([event for event in claimed if _is_pull(event)]) if connection.vendor == "sqlite" else None
        touched: set[str] = set()
        for start in range(0, len(claimed), CHUNK):
            if start:
                receiving.make_way()
            chunk = claimed[start : start + CHUNK]
            touched |= _apply_chunk(chunk, None if plan is None else plan.part(chunk), done)
        if touched:
            receiving.make_way()
            _refresh(sorted(touched))


def _refresh(names: list[str]) -> None:
    """``sync.refresh_repositories`` for the repositories whose tags the batch's pushes changed,
    once a batch: its reads (every tag of a repository, thousands for a CI's) before the writer
    lock, under the applier lock; only the changed figures written under it."""
    changed = sync.changed_repositories(names)
    if changed:
        with receiving.quick_commit(applier=True):
            sync.update_repositories(changed)


def _apply_chunk(chunk: list[Event], planned: PlannedPulls | None, done: Applied) -> set[str]:
    """Apply a chunk in a transaction (its pulls ``planned``, or worked out here under the lock);
    the repositories whose sizes its pushes may have changed (refreshed once a batch, ``_refresh``)."""
    ids = [event.pk for event in chunk]
    announced: list[tuple[str, dict[str, str]]] = []
    with receiving.quick_commit(applier=True):
        state = EventsState.objects.select_for_update().filter(pk=1).first() or EventsState.current()
        if planned is None:  # PostgreSQL: under the row lock that serialises appliers
            chunk = list(Event.objects.filter(pk__in=ids, processed=False).order_by("timestamp", "id"))
            planned = _plan_pulls([event for event in chunk if _is_pull(event)])
        touched = _apply_claimed(chunk, planned, state, done, announced) if chunk else set()
    for kind, facts in announced:  # once committed, outside the writer lock
        notable.announce(kind, **facts)
    return touched


def _apply_claimed(
    claimed: list[Event],
    planned: PlannedPulls,
    state: EventsState,
    done: Applied,
    announced: list[tuple[str, dict[str, str]]],
) -> set[str]:
    """Apply ``claimed`` (in timestamp order) inside the caller's transaction; what is to be
    announced once it commits goes to ``announced``; the repositories whose tags pushes changed."""
    Event.objects.filter(pk__in=[event.pk for event in claimed]).update(processed=True)
    touched: set[str] = set()
    instance = state.instance
    tagged: list[Event] = []  # consecutive pushes of a tag, written together (_push_tags)
    for event in claimed:
        reason = gaps.restarted(state, event)
        if reason:
            done.gaps.append(reason)
        if event.action == "push":
            done.pushes += 1
        if _is_pull(event) or not event.repository:  # pulls: after the pushes and deletes, all at once
            continue
        if _is_tag_push(event):
            tagged.append(event)
            continue
        if tagged:  # before a delete or a push by digest, in their order
            touched |= _push_tags(tagged, announced)
            tagged = []
        _apply_one(event, touched, announced)
    if tagged:
        touched |= _push_tags(tagged, announced)
    _write_pulls(planned)
    newest = max(event.timestamp for event in claimed)
    changes: dict[str, Any] = {}
    if state.tracking_since is None:
        changes["tracking_since"] = min(event.timestamp for event in claimed)
    if state.last_event_at is None or newest > state.last_event_at:
        changes["last_event_at"] = newest
    if state.instance != instance:  # gaps.restarted followed the registry's new process
        changes["instance"] = state.instance
    if changes:
        EventsState.objects.filter(pk=1).update(**changes)
    gaps.close_open(min(event.timestamp for event in claimed))  # events flow again
    done.events += len(claimed)
    return touched


class MissingManifest(Exception):
    """The manifest an event names is not in the inventory (the registry did not give it)."""


def _apply_one(event: Event, touched: set[str], announced: list[tuple[str, dict[str, str]]]) -> None:
    """Apply one event in a savepoint: one event's bug does not undo the chunk."""
    try:
        with transaction.atomic():
            if _apply(event, announced):
                touched.add(event.repository)
    except MissingManifest as e:  # could not be fetched: the reconcile will find it
        logger.warning("Event %s: %s", event.event_id, e)
    except DatabaseError:
        raise  # locked or gone: the whole chunk again, later
    except Exception:
        logger.exception("Event %s could not be applied; the next reconcile covers it.", event.event_id)


def _is_tag_push(event: Event) -> bool:
    return bool(event.action == "push" and event.tag and event.digest and event.media_type in MANIFEST_TYPES)


def _apply(event: Event, announced: list[tuple[str, dict[str, str]]]) -> bool:
    """Apply one event; whether it changed what a repository's tags and attachments reach (its
    size is then recomputed)."""
    if not event.repository:
        return False
    if _is_tag_push(event):
        return _push(event, announced)
    if event.action == "push" and event.digest and event.media_type in MANIFEST_TYPES:
        return _push_by_digest(event)
    if event.action == "delete":
        _delete(event, announced)
    return False


def _facts(event: Event) -> dict[str, str]:
    return {"repository": event.repository, "tag": event.tag, "digest": event.digest, "actor": event.actor}


def _push_tags(pushes: list[Event], announced: list[tuple[str, dict[str, str]]]) -> set[str]:
    """Consecutive pushes of tags applied in a few statements, whatever their number, as
    ``_push`` applies each (the repositories whose sizes may have changed): a push whose tag, or digest, a
    later delete already removed changes nothing, nor does one older than the tag's last event.
    On a failure that is not the database's, each is applied on its own (``_apply_one``)."""
    touched: set[str] = set()
    told: list[tuple[str, dict[str, str]]] = []
    try:
        with transaction.atomic():
            touched = _write_tag_pushes(pushes, told)
        announced.extend(told)
    except DatabaseError:
        raise
    except Exception:
        logger.exception("Pushes could not be applied together; applying them one by one.")
        for event in pushes:
            _apply_one(event, touched, announced)
    return touched


def _write_tag_pushes(pushes: list[Event], announced: list[tuple[str, dict[str, str]]]) -> set[str]:
    newest: dict[tuple[str, str], Event] = {}
    for event in pushes:  # in timestamp order: the last push of a tag is the one that stays
        newest[event.repository, event.tag] = event
    wanted = _not_deleted_later(list(newest.values()))
    manifests = {
        manifest.digest: manifest
        for manifest in Manifest.objects.filter(digest__in={event.digest for event in wanted}).only(
            "id", "digest", "size", "created"
        )
    }
    for event in wanted:
        if event.digest not in manifests:  # could not be fetched: the reconcile will find it
            logger.warning(
                "Event %s: %s is not in the registry any more, or it did not answer.", event.event_id, event.digest
            )
    wanted = [event for event in wanted if event.digest in manifests]
    if not wanted:
        return set()
    repositories = _repository_ids({event.repository for event in wanted})
    existing = {
        (repository_id, name): (pk, event_at, digest)
        for pk, repository_id, name, event_at, digest in Tag.objects.filter(
            repository_id__in=set(repositories.values()), name__in={event.tag for event in wanted}
        ).values_list("id", "repository_id", "name", "event_at", "digest")
    }
    # The digests some tag of the repository is on already: a new tag on one of them, or a tag
    # pushed again with its digest, reaches no blob the repository's size does not count.
    held = set(
        Tag.objects.filter(repository_id__in=set(repositories.values()), digest__in={event.digest for event in wanted})
        .order_by()  # not the model's ordering, whose columns DISTINCT would take in
        .values_list("repository_id", "digest")
        .distinct()  # one row a pair, not one a tag: a CI's repository has thousands on one digest
    )
    now = timezone.now()
    updates: list[Event] = []
    new: list[Event] = []
    for event in wanted:
        found = existing.get((repositories[event.repository], event.tag))
        if found is None:
            new.append(event)
        elif found[1] is None or found[1] <= event.timestamp:
            updates.append(event)
    applied = _update_tags(updates, existing, repositories, manifests, now)
    if new:
        bulk.insert(
            Tag,
            [*TAG_FIELDS, "repository_id", "name", "attached_to"],
            [
                (
                    *_tag_values(event, manifests[event.digest], now),
                    repositories[event.repository],
                    event.tag,
                    sync.attached_digest(event.tag),
                )
                for event in new
            ],
            ignore_conflicts=True,
        )
        stored = set(
            Tag.objects.filter(
                repository_id__in={repositories[event.repository] for event in new}, name__in={e.tag for e in new}
            ).values_list("repository_id", "name", "event_at")
        )
        for event in new:
            if (repositories[event.repository], event.tag, event.timestamp) in stored:
                applied.append(event)
            elif set_tag(event):
                applied.append(event)  # written meanwhile by someone else (PostgreSQL): as one push
    last: dict[str, datetime] = {}
    resized: set[str] = set()
    for event in applied:
        last[event.repository] = max(event.timestamp, last.get(event.repository, event.timestamp))
        announced.append((notable.PUSH, _facts(event)))
        before = existing.get((repositories[event.repository], event.tag))
        if (repositories[event.repository], event.digest) not in held or (before and before[2] != event.digest):
            resized.add(event.repository)
    for repository, when in last.items():
        Repository.objects.filter(pk=repositories[repository]).filter(
            Q(last_pushed__isnull=True) | Q(last_pushed__lt=when)
        ).update(last_pushed=when)
    return resized


# The fields a push writes on a tag (together: _write_tag_pushes; one by one: set_tag), in this order.
TAG_FIELDS = ("digest", "manifest_id", "size", "created", "checked_at", "event_at", "pushed_at", "pushed_by")


def _tag_values(event: Event, manifest: Manifest, now: datetime) -> tuple[Any, ...]:
    return (
        event.digest,
        manifest.pk,
        manifest.size,
        manifest.created,
        now,
        event.timestamp,
        event.timestamp,
        event.actor,
    )


def _repository_ids(names: set[str]) -> dict[str, int]:
    """The ids of the named repositories, those missing created."""
    found = dict(Repository.objects.filter(name__in=names).values_list("name", "id"))
    if len(found) < len(names):
        bulk.insert(Repository, ["name"], [(name,) for name in sorted(names - set(found))], ignore_conflicts=True)
        found = dict(Repository.objects.filter(name__in=names).values_list("name", "id"))
    return found


def _update_tags(
    updates: list[Event],
    existing: dict[tuple[int, str], tuple[int, datetime | None, str]],
    repositories: dict[str, int],
    manifests: dict[str, Manifest],
    now: datetime,
) -> list[Event]:
    """The existing tags pointed at their pushes' digests with one prepared UPDATE, each only if
    no newer event set it meanwhile; the pushes written."""
    bulk.update(
        Tag,
        TAG_FIELDS,
        (
            (
                *_tag_values(event, manifests[event.digest], now),
                existing[repositories[event.repository], event.tag][0],
                event.timestamp,
            )
            for event in updates
        ),
        where=("event_at__null_or_lte",),
    )
    return list(updates)


def stored_manifest(digest: str) -> Manifest:
    """The inventory's manifest of a digest; MissingManifest when the fetch before the batch failed."""
    manifest = Manifest.objects.filter(digest=digest).first()
    if manifest is None:
        raise MissingManifest(f"{digest} is not in the registry any more, or it did not answer.")
    return manifest


def set_tag(event: Event) -> bool:
    """Point the pushed tag at the event's digest as of its timestamp (the fields ``_tag_values``
    gives, as ``_write_tag_pushes`` writes them); False when a newer event already set it."""
    manifest = stored_manifest(event.digest)
    repo, _ = Repository.objects.get_or_create(name=event.repository)
    fields = dict(zip(TAG_FIELDS, _tag_values(event, manifest, timezone.now()), strict=True))
    when = event.timestamp
    with transaction.atomic():
        updated = (
            Tag.objects.filter(repository=repo, name=event.tag)
            .filter(Q(event_at__isnull=True) | Q(event_at__lte=when))
            .update(**fields)
        )
        if not updated:
            if Tag.objects.filter(repository=repo, name=event.tag).exists():
                return False  # a newer event came first
            Tag.objects.create(repository=repo, name=event.tag, attached_to=sync.attached_digest(event.tag), **fields)
        Repository.objects.filter(pk=repo.pk).filter(Q(last_pushed__isnull=True) | Q(last_pushed__lt=when)).update(
            last_pushed=when
        )
    return True


def _not_deleted_later(pushes: list[Event]) -> list[Event]:
    """The pushes of tags no later delete (applied already, the events out of order) undid: a
    delete of the tag, or one by digest (no tag) of the pushed digest, in the same repository.
    One query for any number of pushes."""
    if not pushes:
        return []
    deletes = list(
        Event.objects.filter(
            action="delete",
            processed=True,
            repository__in={event.repository for event in pushes},
            timestamp__gt=min(event.timestamp for event in pushes),
        )
        .filter(Q(tag__in={event.tag for event in pushes}) | Q(tag="", digest__in={event.digest for event in pushes}))
        .values_list("repository", "tag", "digest", "timestamp")
    )
    return [
        event
        for event in pushes
        if not any(
            repository == event.repository
            and when > event.timestamp
            and (tag == event.tag or (not tag and digest == event.digest))
            for repository, tag, digest, when in deletes
        )
    ]


def _push(event: Event, announced: list[tuple[str, dict[str, str]]]) -> bool:
    if not _not_deleted_later([event]):  # out of order: the tag's delete came after this push
        return False
    pushed = set_tag(event)
    if pushed:
        announced.append((notable.PUSH, _facts(event)))
    return pushed


def _push_by_digest(event: Event) -> bool:
    """Store an artifact pushed by digest: attached to its subject, its blobs count in the
    repository's size (the statistics' largest repositories read it); whether it was attached."""
    deleted_later = Event.objects.filter(
        action="delete", repository=event.repository, digest=event.digest, timestamp__gt=event.timestamp, processed=True
    )
    if deleted_later.exists():
        return False
    manifest = stored_manifest(event.digest)
    return attachments.attach(event.repository, manifest, event.timestamp, event.actor) is not None


def _delete(event: Event, announced: list[tuple[str, dict[str, str]]]) -> None:
    tags = Tag.objects.filter(repository__name=event.repository)
    tags = tags.filter(Q(event_at__isnull=True) | Q(event_at__lte=event.timestamp))
    if event.tag:
        tags.filter(name=event.tag).delete()
    elif event.digest:
        tags.filter(digest=event.digest).delete()
        attachments.detach(event.repository, [event.digest])
    attachments.drop_detached([event.repository])
    sync.refresh_repositories([event.repository])
    announced.append((notable.DELETE, _facts(event)))
    # Removing an unreferenced manifest waits for the reconcile (it may still be pulled by digest).


def _is_pull(event: Event) -> bool:
    return bool(event.action == "pull" and event.repository and event.digest and event.media_type in MANIFEST_TYPES)


@dataclass
class PlannedPulls:
    """What a batch's pulls change: written in a few statements by ``_write_pulls``."""

    counted: list[int] = field(default_factory=list)
    by_image: Counter[str] = field(default_factory=Counter)
    by_repository: Counter[str] = field(default_factory=Counter)
    image_pulled: dict[str, datetime] = field(default_factory=dict)
    tag_pulled: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def part(self, events: list[Event]) -> PlannedPulls:
        """What the pulls among ``events`` change, those counted as this plan says (a plan of the
        whole batch, split by chunk)."""
        counted = set(self.counted)
        planned = PlannedPulls()
        for event in events:
            if not _is_pull(event):
                continue
            when = event.timestamp
            if event.pk in counted:
                planned.counted.append(event.pk)
                planned.by_image[event.digest] += 1
                planned.by_repository[event.repository] += 1
            planned.image_pulled[event.digest] = max(when, planned.image_pulled.get(event.digest, when))
            if event.tag:
                key = (event.repository, event.tag)
                planned.tag_pulled[key] = max(when, planned.tag_pulled.get(key, when))
        return planned


def _plan_pulls(pulls: list[Event]) -> PlannedPulls:
    """A batch's pulls of manifests worked out: which count, per image and repository, the
    last pull of each image and tag.

    A client pull is a HEAD by tag, then a GET by digest: whichever of the two is applied second
    is the same pull, also when the registry's notifications bring them in two posts and the GET
    is applied first. The partners are looked up once for the batch (pulls already counted in
    the window around it), then followed in timestamp order within it."""
    planned = PlannedPulls()
    if not pulls:
        return planned
    low = min(event.timestamp for event in pulls) - PULL_WINDOW
    high = max(event.timestamp for event in pulls) + PULL_WINDOW
    # Counted pulls of the same image, client and address, by kind (by tag or by digest), sorted:
    # an event looks for a partner of the other kind only, with a bisection.
    partners: dict[tuple[str, str, str, str, bool], list[datetime]] = {}
    for by_tag in (True, False):
        wanted = [event for event in pulls if bool(event.tag) != by_tag]
        if not wanted:
            continue
        found = Event.objects.filter(
            action="pull",
            counted=True,
            digest__in={event.digest for event in wanted},
            host__in={event.host for event in wanted},
            timestamp__gte=low,
            timestamp__lte=high,
        )
        found = found.exclude(tag="") if by_tag else found.filter(tag="")
        for repository, digest, host, agent, when in found.values_list(
            "repository", "digest", "host", "user_agent", "timestamp"
        ):
            partners.setdefault((repository, digest, host, agent, by_tag), []).append(when)
    for times in partners.values():
        times.sort()
    counted = planned.counted
    for event in sorted(pulls, key=lambda e: (e.timestamp, e.pk)):
        when = event.timestamp
        if event.tag:  # a HEAD (or GET) by tag: a GET by digest just after it is the same pull
            others = partners.get((event.repository, event.digest, event.host, event.user_agent, False), [])
            paired = bisect_left(others, when) < bisect_right(others, when + PULL_WINDOW)
        else:
            others = partners.get((event.repository, event.digest, event.host, event.user_agent, True), [])
            paired = bisect_left(others, when - PULL_WINDOW) < bisect_right(others, when)
        if not paired:
            counted.append(event.pk)
            insort(
                partners.setdefault(
                    (event.repository, event.digest, event.host, event.user_agent, bool(event.tag)), []
                ),
                when,
            )
    return planned.part(pulls)


def _write_pulls(planned: PlannedPulls) -> None:
    counted, by_image, by_repository = planned.counted, planned.by_image, planned.by_repository
    image_pulled, tag_pulled = planned.image_pulled, planned.tag_pulled
    if counted:
        Event.objects.filter(pk__in=counted).update(counted=True)
    for digest, count in by_image.items():
        Manifest.objects.filter(digest=digest).update(pull_count=F("pull_count") + count)
    for repository, count in by_repository.items():
        Repository.objects.filter(name=repository).update(pull_count=F("pull_count") + count)
    for digest, when in image_pulled.items():
        Manifest.objects.filter(digest=digest).filter(Q(last_pulled__isnull=True) | Q(last_pulled__lt=when)).update(
            last_pulled=when
        )
    for (repository, tag), when in tag_pulled.items():
        Tag.objects.filter(repository__name=repository, name=tag).filter(
            Q(last_pulled__isnull=True) | Q(last_pulled__lt=when)
        ).update(last_pulled=when)


def prune(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    return Event.objects.filter(timestamp__lt=cutoff, processed=True).delete()[0]

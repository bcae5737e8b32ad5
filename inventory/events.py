"""The registry's notifications: parsed and stored at once, applied to the inventory just after.

``receive`` validates the body and stores every event (idempotent on the event's ``id``),
within the request; ``apply_pending`` applies stored events in timestamp order and runs in
one background thread of the process once the request's transaction commits (the registry
waits on our answer, and its queue lives in its memory), and again at every reconcile, so an
event stored by a process that died before applying it is not lost.

- push of a manifest with a tag: the tag points at that digest from then on (the manifest
  is fetched once if the inventory lacks it); an older event arriving late changes nothing.
- push of a manifest by digest (no tag; an index's platforms, an SBOM or signature pushed
  with a ``subject``): fetched once and stored; one whose subject is in the same repository
  is attached to it (``inventory.attachments``), the only way to know of it: the registry
  lists no untagged manifest and distribution v3 has no referrers API.
- delete: with a tag (v3), that tag goes; by digest, every tag of the repository on it goes
  (distribution#1566), and so does an attached artifact of that digest; artifacts whose
  subject no tag reaches any more go with it.
- pull of a manifest: the tag's and the image's last pull; counted once per client pull: a
  GET by digest right after a HEAD by tag of the same digest, from the same address and
  client, is the same pull. The dashboard's own requests (User-Agent registry-admin/...) are
  dropped before anything is stored.
- blob events and anything without a repository are kept for the Activity page only.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory import attachments, content, sync
from inventory.models import Event, Manifest, Repository, Tag
from registry_client import references
from registry_client.client import MANIFEST_TYPES, RegistryError, get_client
from registry_client.manifests import parse_timestamp

logger = logging.getLogger(__name__)

CONTENT_TYPES = (
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
)
ACTIONS = ("push", "pull", "mount", "delete")
# A GET by digest this soon after a HEAD by tag of the same digest is the same client pull.
PULL_WINDOW = timedelta(seconds=60)


class MalformedEvents(ValueError):
    """The body is not ``{"events": [...]}`` of objects with an id, a timestamp and an action."""


@dataclass(frozen=True)
class Received:
    stored: int
    duplicates: int
    ignored: int


def _text(value: Any, limit: int) -> str:
    return str(value)[:limit] if value is not None else ""


def _object(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    return value if isinstance(value, dict) else {}


def _host(address: str) -> str:
    """``127.0.0.1:38134`` -> ``127.0.0.1``, ``[::1]:5000`` -> ``::1``: each connection has its own port."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def _utc(when: datetime) -> datetime | None:
    """``when`` in UTC, as the database keeps it; None in the calendar's first and last years, where
    the pull window's arithmetic (and, with an offset, UTC itself) overflows."""
    try:
        utc = when.astimezone(UTC)
    except OverflowError:
        return None
    return utc if 1 < utc.year < 9999 else None


# OCI's digest grammar (algorithm:encoded), wider than the sha256 the dashboard asks for.
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


def _plausible(item: dict[str, Any], target: dict[str, Any]) -> bool:
    """Whether the event names what a registry can hold: a repository name, tag and digest of the
    distribution grammar (or none), and no NUL anywhere (PostgreSQL refuses it in text). The
    endpoint needs only the events token: names outside the grammar (HTML, NUL) are not stored."""
    if _has_nul(item):
        return False
    checks = (
        ("repository", references.validate_name),
        ("tag", references.validate_tag),
        ("digest", _digest),
    )
    for key, validate in checks:
        value = target.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            return False
        try:
            validate(value)
        except ValueError:
            return False
    return True


def _has_nul(value: Any) -> bool:
    """Whether a NUL is in any key or string of ``value`` (nested at most MAX_JSON_DEPTH levels)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _digest(value: str) -> str:
    if not _DIGEST.fullmatch(value):
        raise ValueError(value)
    return value


def parse(document: Any) -> list[Event]:
    """The events of a notification body, as unsaved rows; MalformedEvents when it is not one."""
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedEvents('Expected a JSON object {"events": [...]}, as the registry sends.')
    unknown = sorted(set(document) - {"events"})
    if unknown:  # the registry's envelope has events only (notifications.Envelope)
        raise MalformedEvents(f'Unknown field(s) {", ".join(unknown)[:200]}: the body is {{"events": [...]}}.')
    events = []
    for position, item in enumerate(document["events"]):
        if not isinstance(item, dict):
            raise MalformedEvents(f"events[{position}] is not an object.")
        event_id = item.get("id")
        stamped = parse_timestamp(item.get("timestamp"))
        if not isinstance(event_id, str) or not event_id or len(event_id) > 100:
            raise MalformedEvents(f"events[{position}] has no id.")
        if stamped is None:
            raise MalformedEvents(f"events[{position}] has no readable timestamp (RFC 3339).")
        if not isinstance(item.get("action", ""), str):
            raise MalformedEvents(f"events[{position}].action is not a string.")
        for key in ("target", "request", "actor"):
            if key in item and not isinstance(item[key], dict):
                raise MalformedEvents(f"events[{position}].{key} is not an object.")
        when = _utc(stamped)
        if when is None:  # readable, but no use: counted as ignored
            continue
        target, request, actor = (_object(item, key) for key in ("target", "request", "actor"))
        if not _plausible(item, target):  # a name the registry could never have sent: ignored
            continue
        size = target.get("size", target.get("length"))
        events.append(
            Event(
                event_id=event_id,
                timestamp=when,
                action=_text(item.get("action"), 20),
                repository=_text(target.get("repository"), 255),
                tag=_text(target.get("tag"), 128),
                digest=_text(target.get("digest"), 100),
                media_type=_text(target.get("mediaType"), 255),
                size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
                actor=_text(actor.get("name"), 255),
                address=_text(request.get("addr"), 255),
                host=_host(_text(request.get("addr"), 255)),
                method=_text(request.get("method"), 10),
                user_agent=_text(request.get("useragent"), 500),
            )
        )
    return events


def receive(document: Any) -> Received:
    """Store the events of a notification (the caller's transaction); apply them after commit."""
    events = parse(document)
    useful = [e for e in events if e.action in ACTIONS and not e.user_agent.startswith("registry-admin/")]
    ids = [e.event_id for e in useful]
    seen = set(Event.objects.filter(event_id__in=ids).values_list("event_id", flat=True)) if ids else set()
    fresh = {e.event_id: e for e in useful if e.event_id not in seen}
    Event.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    if fresh:
        transaction.on_commit(wake)
    received = len(document["events"])  # parse() has checked the shape, and left out unusable times
    return Received(stored=len(fresh), duplicates=len(useful) - len(fresh), ignored=received - len(useful))


# --- Applying ------------------------------------------------------------------------------

_queue: queue.Queue[None] = queue.Queue()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()
_apply_lock = threading.Lock()


def wake() -> None:
    """Have the process's events thread apply what is pending (started on first use)."""
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="inventory-events", daemon=True)
            _thread.start()
    _queue.put(None)


def _run() -> None:
    while True:
        _queue.get()
        while not _queue.empty():  # one pass serves every wake-up queued meanwhile
            _queue.get_nowait()
        for attempt in range(20):
            try:
                apply_pending()
                break
            except OperationalError as e:  # SQLite busy beyond its timeout: try again shortly
                logger.warning("Applying registry events: %s (attempt %d)", e, attempt + 1)
                time.sleep(0.1)
            except Exception:
                logger.exception("Applying registry events failed; the next reconcile applies them.")
                break
            finally:
                close_old_connections()


def apply_pending(limit: int = 1000) -> int:
    """Apply the stored, unapplied events, oldest first; the number applied."""
    applied = 0
    with _apply_lock:
        while True:
            batch = list(Event.objects.filter(processed=False).order_by("timestamp", "id")[:limit])
            if not batch:
                return applied
            for event in batch:
                # Claimed and applied in one transaction: another process applying events at the
                # same time (a sync on the worker) skips it, so no pull is counted twice; an
                # unexpected error leaves it unapplied for the next round.
                with transaction.atomic():
                    if not Event.objects.filter(pk=event.pk, processed=False).update(processed=True):
                        continue
                    try:
                        _apply(event)
                    except RegistryError as e:  # the manifest could not be fetched: the reconcile will
                        logger.warning("Event %s: %s", event.event_id, e.message)
                applied += 1


def _apply(event: Event) -> None:
    if not event.repository:
        return
    if event.action == "push" and event.tag and event.digest and event.media_type in MANIFEST_TYPES:
        _push(event)
    elif event.action == "push" and event.digest and event.media_type in MANIFEST_TYPES:
        _push_by_digest(event)
    elif event.action == "delete":
        _delete(event)
    elif event.action == "pull" and event.digest and event.media_type in MANIFEST_TYPES:
        _pull(event)


def manifest_for(repository: str, digest: str) -> Manifest:
    """The inventory's manifest of a digest, fetched from the registry (once) when it has none."""
    existing = Manifest.objects.filter(digest=digest).first()
    if existing is not None:
        return existing
    known = frozenset(Manifest.objects.values_list("digest", flat=True))
    fetched = content.fetch(get_client(), repository, digest, known=known)
    if fetched is None:
        raise RegistryError(f"{repository}@{digest} is not in the registry any more.", status=404)
    return content.store(fetched)


def set_tag(repository: str, tag: str, digest: str, when: datetime, actor: str = "", pushed: bool = True) -> bool:
    """Point ``repository:tag`` at ``digest`` as of ``when``; False when a newer event already set it."""
    manifest = manifest_for(repository, digest)
    repo, _ = Repository.objects.get_or_create(name=repository)
    now = timezone.now()
    fields: dict[str, Any] = {
        "digest": digest,
        "manifest": manifest,
        "size": manifest.size,
        "created": manifest.created,
        "checked_at": now,
        "event_at": when,
    }
    if pushed:
        fields.update(pushed_at=when, pushed_by=actor)
    with transaction.atomic():
        updated = (
            Tag.objects.filter(repository=repo, name=tag)
            .filter(Q(event_at__isnull=True) | Q(event_at__lte=when))
            .update(**fields)
        )
        if not updated:
            if Tag.objects.filter(repository=repo, name=tag).exists():
                return False  # a newer event came first
            Tag.objects.create(repository=repo, name=tag, attached_to=sync.attached_digest(tag), **fields)
        if pushed:
            Repository.objects.filter(pk=repo.pk).filter(Q(last_pushed__isnull=True) | Q(last_pushed__lt=when)).update(
                last_pushed=when
            )
    return True


def _push(event: Event) -> None:
    deleted_later = Event.objects.filter(
        action="delete", repository=event.repository, timestamp__gt=event.timestamp, processed=True
    ).filter(Q(tag=event.tag) | Q(tag="", digest=event.digest))
    if deleted_later.exists():  # out of order: the tag's delete came after this push
        return
    set_tag(event.repository, event.tag, event.digest, event.timestamp, actor=event.actor)


def _push_by_digest(event: Event) -> None:
    deleted_later = Event.objects.filter(
        action="delete", repository=event.repository, digest=event.digest, timestamp__gt=event.timestamp, processed=True
    )
    if deleted_later.exists():
        return
    manifest = manifest_for(event.repository, event.digest)
    attachments.attach(event.repository, manifest, event.timestamp, event.actor)


def _delete(event: Event) -> None:
    tags = Tag.objects.filter(repository__name=event.repository)
    tags = tags.filter(Q(event_at__isnull=True) | Q(event_at__lte=event.timestamp))
    if event.tag:
        tags.filter(name=event.tag).delete()
    elif event.digest:
        tags.filter(digest=event.digest).delete()
        attachments.detach(event.repository, [event.digest])
    attachments.drop_detached([event.repository])
    sync.refresh_repositories([event.repository])
    # Removing an unreferenced manifest waits for the reconcile (it may still be pulled by digest).


def _pull(event: Event) -> None:
    # A client pull is a HEAD by tag, then a GET by digest: whichever of the two is applied
    # second is the same pull, also when the registry's notifications bring them in two posts
    # and the GET is applied first.
    same_client = Event.objects.filter(
        action="pull",
        repository=event.repository,
        digest=event.digest,
        host=event.host,
        user_agent=event.user_agent,
        counted=True,
    ).exclude(pk=event.pk)
    if event.tag:
        partner = same_client.filter(
            tag="", timestamp__gte=event.timestamp, timestamp__lte=event.timestamp + PULL_WINDOW
        )
    else:
        partner = same_client.exclude(tag="").filter(
            timestamp__gte=event.timestamp - PULL_WINDOW, timestamp__lte=event.timestamp
        )
    counted = not partner.exists()
    when = event.timestamp
    if counted:
        Event.objects.filter(pk=event.pk).update(counted=True)
        Manifest.objects.filter(digest=event.digest).update(pull_count=F("pull_count") + 1)
        Repository.objects.filter(name=event.repository).update(pull_count=F("pull_count") + 1)
    Manifest.objects.filter(digest=event.digest).filter(Q(last_pulled__isnull=True) | Q(last_pulled__lt=when)).update(
        last_pulled=when
    )
    if event.tag:
        Tag.objects.filter(repository__name=event.repository, name=event.tag).filter(
            Q(last_pulled__isnull=True) | Q(last_pulled__lt=when)
        ).update(last_pulled=when)


def prune(now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    return Event.objects.filter(timestamp__lt=cutoff, processed=True).delete()[0]


def is_live(window: timedelta = timedelta(minutes=10)) -> bool:
    """Events on and one received recently: the pages say "live"."""
    if not settings.REGISTRY_EVENTS_TOKEN:
        return False
    return Event.objects.filter(received_at__gte=timezone.now() - window).exists()


def last_received() -> datetime | None:
    latest = Event.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    return latest

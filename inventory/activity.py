"""The Activity page's rows: one row for what a client did, not one per request.

The registry sends one event per request (REGISTRY-FACTS "One event per request"): a
``docker pull`` is a manifest HEAD by tag, a GET by digest and one GET per blob, a push one
event per blob and one for the manifest. A person reads that as one pull or one push, so the
manifest requests of one client for one digest become one row, and the blob requests around
them are counted in it; the blob rows themselves show only when asked for (``blobs``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from inventory.models import Event
from registry_client.client import MANIFEST_TYPES

# Requests of one pull or push arrive within a second or two; a minute leaves room for a slow
# link and still keeps two pulls of one client apart unless they pull the same digest again.
GROUP_WINDOW = timedelta(seconds=60)
TRANSFER_ACTIONS = ("pull", "push")


def blob_filter() -> Q:
    """Events for one blob (a layer or a config): what a pull or push moves besides its manifest."""
    return Q(action__in=TRANSFER_ACTIONS) & ~Q(media_type="") & ~Q(media_type__in=MANIFEST_TYPES)


def without_blobs(events: QuerySet[Event]) -> QuerySet[Event]:
    return events.exclude(blob_filter())


@dataclass
class ActivityRow:
    """One client's pull or push of one manifest (its HEAD and GET, its blobs), or one event."""

    first: Event  # the newest event of the row: its time, repository, actor, address, client
    tag: str = ""
    digest: str = ""
    media_type: str = ""
    methods: list[str] = field(default_factory=list)
    requests: int = 1
    blobs: int = 0
    blob_bytes: int = 0
    oldest: datetime | None = None

    @property
    def action(self) -> str:
        return self.first.action

    @property
    def is_blob(self) -> bool:
        return bool(self.media_type) and self.media_type not in MANIFEST_TYPES and self.action in TRANSFER_ACTIONS

    @property
    def what(self) -> str:
        """The kind of object in a word: index, manifest or blob (the media type is its title)."""
        if not self.media_type:
            return ""
        if self.media_type not in MANIFEST_TYPES:
            return "blob"
        return "index" if "index" in self.media_type or "list" in self.media_type else "manifest"

    def _key(self) -> tuple[str, str, str, str]:
        return (self.first.action, self.first.repository, self.first.host or self.first.address, self.first.user_agent)


def _key(event: Event) -> tuple[str, str, str, str]:
    return (event.action, event.repository, event.host or event.address, event.user_agent)


def _joins(row: ActivityRow, event: Event) -> bool:
    """The event is another manifest request of the row's client for the same manifest."""
    if event.action not in TRANSFER_ACTIONS or not event.digest or event.digest != row.digest:
        return False
    if _key(event) != row._key() or row.oldest is None:
        return False
    return row.oldest - event.timestamp <= GROUP_WINDOW


def _row(event: Event) -> ActivityRow:
    return ActivityRow(
        first=event,
        tag=event.tag,
        digest=event.digest,
        media_type=event.media_type,
        methods=[event.method] if event.method else [],
        oldest=event.timestamp,
    )


def group(events: Iterable[Event], blobs: Sequence[Event] = ()) -> list[ActivityRow]:
    """Rows for ``events`` (newest first, blob events left out), each manifest pull or push of one
    client one row; ``blobs`` (the blob events of the same span) are counted into their row."""
    rows: list[ActivityRow] = []
    for event in events:
        row = rows[-1] if rows else None
        if row is not None and _joins(row, event):
            row.requests += 1
            row.tag = row.tag or event.tag
            if event.method and event.method not in row.methods:
                row.methods.insert(0, event.method)  # older: the methods read in the order they came
            row.oldest = event.timestamp
            continue
        rows.append(_row(event))
    manifests = [row for row in rows if row.action in TRANSFER_ACTIONS and row.digest and not row.is_blob]
    for blob in blobs:
        row = _owner(manifests, blob)
        if row is not None:
            row.blobs += 1
            row.blob_bytes += blob.size or 0
    return rows


def _owner(rows: Sequence[ActivityRow], blob: Event) -> ActivityRow | None:
    """The manifest row a blob request belongs to: a pull fetches its blobs after the manifest
    (the nearest manifest before the blob), a push uploads them before it (the nearest after)."""
    slack = timedelta(seconds=1)  # the registry's clock orders requests of one client, give or take
    same = [row for row in rows if row._key() == _key(blob) and row.oldest is not None]
    if blob.action == "pull":
        before = [row for row in same if row.oldest - slack <= blob.timestamp <= row.first.timestamp + GROUP_WINDOW]  # type: ignore[operator]
        return max(before, key=lambda row: row.oldest, default=None)  # type: ignore[arg-type,return-value]
    after = [row for row in same if row.oldest - GROUP_WINDOW <= blob.timestamp <= row.first.timestamp + slack]  # type: ignore[operator]
    return min(after, key=lambda row: row.first.timestamp, default=None)


def blobs_around(events: Sequence[Event]) -> list[Event]:
    """The blob events within the span of a page of manifest events (one query)."""
    if not events:
        return []
    newest = max(event.timestamp for event in events) + GROUP_WINDOW
    oldest = min(event.timestamp for event in events) - GROUP_WINDOW
    repositories = {event.repository for event in events if event.action in TRANSFER_ACTIONS}
    if not repositories:
        return []
    return list(
        Event.objects.filter(blob_filter(), timestamp__gte=oldest, timestamp__lte=newest, repository__in=repositories)
    )


def single_rows(events: Iterable[Event]) -> list[ActivityRow]:
    """Every event its own row (blob events shown): what the registry sent, request by request."""
    return [_row(event) for event in events]

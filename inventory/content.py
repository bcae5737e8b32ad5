"""Fetching a manifest's content from the registry and keeping it in the inventory.

Content addressed by digest never changes: ``fetch`` asks the registry only for digests the
inventory does not hold (an index's children included), ``store`` writes them once.
Fetching runs in the reconcile's threads (over HTTP, or from the storage files); storing runs in the caller's thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from inventory import bulk
from inventory.models import Blob, Manifest, ManifestBlob, ManifestChild
from registry_client import manifests
from registry_client.client import INDEX_TYPES, RegistryNotFound
from registry_client.client import Manifest as RegistryManifest


class ContentSource(Protocol):
    """Where manifests and configs are read: the registry's API (``RegistryClient``) or its storage
    files (``inventory.files.ManifestFiles``); both raise RegistryNotFound for what is not there."""

    def get_manifest(self, name: str, reference: str) -> RegistryManifest: ...

    def get_blob(self, name: str, digest: str) -> bytes: ...


@dataclass
class Content:
    """A manifest as fetched: its body, its config (images) and its fetched children (indexes)."""

    digest: str
    media_type: str
    body: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    children: list[Content] = field(default_factory=list)
    #: The manifest and the config as the registry stores them (written as they are: ``bulk.JSONText``).
    raw: bytes = b""
    raw_config: bytes = b""

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def fetch(
    client: ContentSource,
    repository: str,
    digest: str,
    known: set[str] | frozenset[str] = frozenset(),
    manifest: RegistryManifest | None = None,
) -> Content | None:
    """The content of ``digest`` and of its children not in ``known``; None when the registry lacks it."""
    try:
        manifest = manifest or client.get_manifest(repository, digest)
    except RegistryNotFound:
        return None
    content = Content(
        digest=manifest.digest or digest, media_type=manifest.media_type, body=manifest.body, raw=manifest.raw
    )
    if content.is_index:
        # Platforms, and the artifacts a referrers index (the sha256-<hex> tag) lists.
        wanted = [digest for _, digest in manifests.platform_entries(manifest.body)]
        wanted += manifests.referrer_entries(manifest.body)
        for child_digest in wanted:
            if child_digest in known:
                continue
            child = fetch(client, repository, child_digest, known)
            if child is not None and not child.is_index:
                content.children.append(child)
        return content
    descriptor = manifest.body.get("config") or {}
    if (
        manifests.is_json_config(descriptor)
        and int(descriptor.get("size") or 0) <= settings.CATALOG_CACHE_MAX_KB * 1024
    ):
        try:
            raw = client.get_blob(repository, str(descriptor["digest"]))
            config = json.loads(raw)
            content.config = config if isinstance(config, dict) else {}
            content.raw_config = raw if isinstance(config, dict) else b""
        except (RegistryNotFound, ValueError):
            content.config = {}
    return content


def store(content: Content) -> Manifest:
    """Write a fetched manifest (children first); an existing row is returned as it is."""
    existing = Manifest.objects.filter(digest=content.digest).first()
    if existing is not None:
        return existing
    for child in content.children:
        store(child)
    try:
        with transaction.atomic():
            return _create(content)
    except IntegrityError:  # stored meanwhile by the events applier or another reconcile
        return Manifest.objects.get(digest=content.digest)


#: The fields ``store_many`` writes of an image manifest, in its rows' order.
MANIFEST_FIELDS = (
    "digest",
    "media_type",
    "kind",
    "artifact_type",
    "subject",
    "size",
    "created",
    "platforms",
    "config_digest",
    "config",
    "body",
)


class Stored:
    """The inventory's manifests (``(id, size, created)``) and blobs (id) by digest, as a sync
    writes them: read once at its start with a scan of each table and kept current by
    ``store_many``, so that no batch asks the database an IN over thousands of digests (at 10,000
    repositories those lookups were about a third of the first sync's writes). ``for_contents``
    reads only the digests some contents name, for a caller writing a few (the events)."""

    def __init__(self, manifests: dict[str, tuple[int, int, Any]], blobs: dict[str, int]) -> None:
        self.manifests = manifests
        self.blobs = blobs

    @classmethod
    def load(cls) -> Stored:
        return cls(_manifests_by_digest(Manifest.objects.all()), dict(Blob.objects.values_list("digest", "id")))

    @classmethod
    def for_contents(cls, contents: list[Content]) -> Stored:
        digests = {item.digest for top in contents for item in [top, *top.children]}
        blobs = {
            digest
            for top in contents
            for item in [top, *top.children]
            if not item.is_index
            for digest, _, _ in manifests.blob_descriptors(item.body)
        }
        return cls(
            _manifests_by_digest(Manifest.objects.filter(digest__in=list(digests))),
            dict(Blob.objects.filter(digest__in=list(blobs)).values_list("digest", "id")),
        )

    def learn_manifests(self, after: int, wanted: dict[str, tuple[int, Any]]) -> None:
        """The manifests just inserted, ``wanted`` (their ``(size, created)`` by digest): their ids
        from the rows past id ``after`` (ids only grow), and any another writer stored meanwhile
        (an IN over those few)."""
        others = []
        for digest, pk in bulk.ids_after(Manifest, "digest", after).items():
            if digest in wanted:
                self.manifests[digest] = (pk, *wanted[digest])
            else:
                others.append(digest)
        missing = [digest for digest in wanted if digest not in self.manifests] + others
        if missing:
            self.manifests.update(_manifests_by_digest(Manifest.objects.filter(digest__in=missing)))

    def learn_blobs(self, after: int, wanted: set[str]) -> None:
        """As ``learn_manifests``, for blobs."""
        self.blobs.update(bulk.ids_after(Blob, "digest", after))
        missing = [digest for digest in wanted if digest not in self.blobs]
        if missing:
            self.blobs.update(Blob.objects.filter(digest__in=missing).values_list("digest", "pk"))


def _manifests_by_digest(rows: Any) -> dict[str, tuple[int, int, Any]]:
    """``Stored.manifests``' entries for the manifests of the queryset ``rows``."""
    return {
        digest: (pk, size, created) for digest, pk, size, created in rows.values_list("digest", "pk", "size", "created")
    }


def _last_id(model: type[Manifest] | type[Blob]) -> int:
    """The highest id in ``model``'s table: the rows inserted next have higher ones."""
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def store_many(contents: list[Content], stored: Stored | None = None) -> int:
    """Write many fetched manifests in a few queries (images in bulk, indexes one by one after);
    the number of manifests written, children included. ``stored``: what the inventory holds,
    kept current here (by default read for these contents only)."""
    stored = stored or Stored.for_contents(contents)
    images: dict[str, Content] = {}
    indexes: list[Content] = []
    for item in contents:
        for image in [*item.children, item] if item.is_index else [item]:
            if not image.is_index:
                images.setdefault(image.digest, image)
        if item.is_index:
            indexes.append(item)
    fresh = [image for digest, image in images.items() if digest not in stored.manifests]
    descriptors = {image.digest: manifests.blob_descriptors(image.body) for image in fresh}
    blobs = _blobs([d for found in descriptors.values() for d in found], stored)
    rows = []
    figures: dict[str, tuple[int, Any]] = {}  # (size, created) by digest, for learn_manifests
    for image in fresh:
        config_descriptor = image.body.get("config") or {}
        platform = manifests.config_platform(image.config)
        kind, artifact_type = manifests.classify(image.media_type, image.body)
        figures[image.digest] = (
            sum(manifests.blob_sizes(image.body).values()),
            manifests.parse_created(image.config.get("created")),
        )
        rows.append(
            (
                image.digest,
                image.media_type,
                kind,
                artifact_type,
                manifests.subject_digest(image.body),
                *figures[image.digest],
                [platform] if platform else [],
                str(config_descriptor.get("digest") or ""),
                bulk.json_text(image.raw_config, image.config),
                bulk.json_text(image.raw, image.body),
            )
        )
    last = _last_id(Manifest)
    bulk.insert(Manifest, MANIFEST_FIELDS, rows, ignore_conflicts=True)
    stored.learn_manifests(last, figures)
    # Only the rows inserted here get their blob links: a manifest another writer stored meanwhile
    # got its own from that writer, in the same transaction.
    ours = {
        digest: stored.manifests[digest][0] for digest in descriptors if stored.manifests.get(digest, (0,))[0] > last
    }
    bulk.insert(
        ManifestBlob,
        ("manifest_id", "blob_id", "position"),
        (
            (ours[digest], blobs[blob_digest], i)
            for digest, found in descriptors.items()
            if digest in ours
            for i, (blob_digest, _, _) in enumerate(found)
        ),
    )
    for index in indexes:
        if index.digest not in stored.manifests:
            manifest = store(index)
            stored.manifests[manifest.digest] = (manifest.pk, manifest.size, manifest.created)
    return len(fresh) + len(indexes)


def _create(content: Content) -> Manifest:
    if content.is_index:
        entries = manifests.platform_entries(content.body)
        # A referrers index (sha256-<hex>) holds the blobs of the artifacts it lists (issue 15).
        listed = [d for _, d in entries] + manifests.referrer_entries(content.body)
        children = {m.digest: m for m in Manifest.objects.filter(digest__in=listed)}
        sizes: dict[str, int] = {}
        for link in ManifestBlob.objects.filter(manifest__in=children.values()).select_related("blob"):
            sizes[link.blob.digest] = link.blob.size
        platform_digests = {d for _, d in entries}
        created = [c.created for d, c in children.items() if d in platform_digests and c.created is not None]
        manifest = Manifest.objects.create(
            digest=content.digest,
            media_type=content.media_type,
            kind=Manifest.Kind.INDEX,
            artifact_type=str(content.body.get("artifactType") or ""),
            subject=manifests.subject_digest(content.body),
            size=sum(sizes.values()),
            created=max(created) if created else None,
            platforms=[name for name, digest in entries if digest in children],
            body=content.body,
        )
        # Referrers are children without a platform: kept while the index is, counted in the
        # repository's size, never shown as platforms.
        referrers = [("", digest) for digest in manifests.referrer_entries(content.body)]
        ManifestChild.objects.bulk_create(
            ManifestChild(parent=manifest, digest=digest, platform=name, position=i)
            for i, (name, digest) in enumerate([*entries, *referrers])
        )
        return manifest
    descriptors = manifests.blob_descriptors(content.body)
    config_descriptor = content.body.get("config") or {}
    platform = manifests.config_platform(content.config)
    kind, artifact_type = manifests.classify(content.media_type, content.body)
    manifest = Manifest.objects.create(
        digest=content.digest,
        media_type=content.media_type,
        kind=kind,
        artifact_type=artifact_type,
        subject=manifests.subject_digest(content.body),
        size=sum(manifests.blob_sizes(content.body).values()),
        created=manifests.parse_created(content.config.get("created")),
        platforms=[platform] if platform else [],
        config_digest=str(config_descriptor.get("digest") or ""),
        config=content.config,
        body=content.body,
    )
    blobs = _blobs(descriptors)
    ManifestBlob.objects.bulk_create(
        ManifestBlob(manifest=manifest, blob_id=blobs[digest], position=i)
        for i, (digest, _, _) in enumerate(descriptors)
    )
    return manifest


def _blobs(descriptors: list[tuple[str, int, str]], stored: Stored | None = None) -> dict[str, int]:
    """The blobs' ids by digest, the missing ones created (``stored``: the blobs known, kept current)."""
    wanted = {digest: (size, media_type) for digest, size, media_type in descriptors}
    if not wanted:
        return {}
    stored = stored or Stored({}, dict(Blob.objects.filter(digest__in=list(wanted)).values_list("digest", "id")))
    missing = [(d, size, media_type) for d, (size, media_type) in wanted.items() if d not in stored.blobs]
    if missing:
        last = _last_id(Blob)
        bulk.insert(Blob, ("digest", "size", "media_type"), missing, ignore_conflicts=True)
        stored.learn_blobs(last, {d for d, _, _ in missing})
    return {digest: stored.blobs[digest] for digest in wanted}

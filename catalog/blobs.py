"""The blobs a repository's tags reference, read from the registry through a cache: for a delete's
"reclaimable" figure and a statistics sample taken before the inventory's first sync.

A delete plan is worked out against the registry as it is now (its fingerprint refuses a plan
the registry has moved past), so what it frees is read from the registry too, not the
inventory. Caching (Django's cache, i.e. Redis), keys under ``catalog:v1:<registry URL hash>:``:

- manifests by digest, without expiry: content addressed by digest never changes. Only those
  up to ``CATALOG_CACHE_MAX_KB`` are kept (typical ones are a few KB).
- what a tag resolves to in a repository, and a repository's tag list, for ``CATALOG_TAG_TTL``
  seconds: tags move. These keys carry the repository's generation, which
  ``invalidate_repository`` bumps after a delete so nothing stale is counted.

Requests go to the one bounded thread pool (``CATALOG_CONCURRENCY``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache

from registry_client import manifests
from registry_client.client import Manifest, RegistryClient, RegistryNotFound, get_client
from registry_client.pool import bounded_map
from registry_client.references import validate_name

PREFIX = "catalog:v1"


def content_blobs(name: str) -> dict[str, dict[str, int]]:
    """Every tag of a repository with the blobs it references: ``{tag: {blob digest: compressed size}}``.

    The blobs are the ones a tag's catalog size adds up (see ``inventory.types.ContentSummary``):
    config and layers of an image; for an index, those of its platforms, BuildKit attestations
    left out, so ``sum(blobs.values())`` is the size its row shows. A platform the registry does
    not hold (an index pushed with some platforms only) adds nothing, the others still count.
    Attached tags (signatures, SBOMs) are tags like any other here; a referrers index tag
    (``sha256-<hex>``) references the blobs of the artifacts it lists. A tag deleted meanwhile
    is left out; 404 for an unknown repository.

    Warm, a repository costs no registry request.
    """
    validate_name(name)
    client = get_client()
    tags = _tag_names(client, name)
    generation = _generation(name)
    ref_keys = {tag: _ref_key(name, generation, tag) for tag in tags}
    digests: dict[str, str] = cache.get_many(list(ref_keys.values()))
    writes = _Writes()

    def blobs(tag: str) -> dict[str, int] | None:
        try:
            digest = digests.get(ref_keys[tag])
            if digest is None:
                manifest = client.get_manifest(name, tag)
                writes.keep(ref_keys[tag], manifest.digest, forever=False)
                _keep_manifest(writes, manifest)
            else:
                manifest = _manifest(client, name, digest, writes)
        except RegistryNotFound:
            return None
        if not manifest.is_index:
            return manifests.blob_sizes(manifest.body)
        referenced: dict[str, int] = {}
        # A referrers index (sha256-<hex>) holds its artifacts' blobs, as the inventory counts them.
        entries = [child for _, child in manifests.platform_entries(manifest.body)]
        entries += manifests.referrer_entries(manifest.body)
        for child in entries:
            try:
                referenced.update(manifests.blob_sizes(_manifest(client, name, child, writes).body))
            except RegistryNotFound:
                continue
        return referenced

    found = dict(zip(tags, bounded_map(blobs, tags), strict=True))
    writes.flush()
    return {tag: referenced for tag, referenced in found.items() if referenced is not None}


def invalidate_repository(name: str) -> None:
    """Forget what tags of ``name`` point to and its tag list (after a delete).

    Content cached by digest stays: it cannot change.
    """
    key = _generation_key(name)
    try:
        cache.incr(key)
    except ValueError:  # no generation yet
        cache.set(key, 1, None)


def _registry() -> str:
    """Keys are per registry: pointing REGISTRY_URL elsewhere must not count the old registry's data."""
    return f"{PREFIX}:{hashlib.sha256(settings.REGISTRY_URL.encode()).hexdigest()[:12]}"


def _scoped(name: str) -> str:
    """A repository name as a key part: long names are hashed to keep keys short."""
    return name if len(name) <= 100 else hashlib.sha256(name.encode()).hexdigest()


def _generation_key(name: str) -> str:
    return f"{_registry()}:gen:{_scoped(name)}"


def _generation(name: str) -> int:
    return int(cache.get(_generation_key(name)) or 0)


def _tags_key(name: str, generation: int) -> str:
    return f"{_registry()}:tags:{_scoped(name)}:{generation}"


def _ref_key(name: str, generation: int, reference: str) -> str:
    return f"{_registry()}:ref:{_scoped(name)}:{generation}:{reference}"


def _manifest_key(digest: str) -> str:
    return f"{_registry()}:manifest:{digest}"


class _Writes:
    """Cache entries gathered by the pool's threads, written at the end in two pipelined batches
    instead of one round trip each."""

    def __init__(self) -> None:
        self.forever: dict[str, Any] = {}
        self.ttl: dict[str, Any] = {}
        self._lock = threading.Lock()

    def keep(self, key: str, value: Any, forever: bool) -> None:
        with self._lock:
            (self.forever if forever else self.ttl)[key] = value

    def flush(self) -> None:
        if self.forever:
            cache.set_many(self.forever, None)
        if self.ttl:
            cache.set_many(self.ttl, settings.CATALOG_TAG_TTL)


def _tag_names(client: RegistryClient, name: str) -> list[str]:
    key = _tags_key(name, _generation(name))
    tags: list[str] | None = cache.get(key)
    if tags is None:
        tags = sorted(client.tags(name))
        cache.set(key, tags, settings.CATALOG_TAG_TTL)
    return tags


def _keep_manifest(writes: _Writes, manifest: Manifest) -> None:
    if manifest.digest and len(manifest.raw) <= settings.CATALOG_CACHE_MAX_KB * 1024:
        writes.keep(_manifest_key(manifest.digest), (manifest.media_type, manifest.raw), forever=True)


def _manifest(client: RegistryClient, name: str, digest: str, writes: _Writes) -> Manifest:
    cached: tuple[str, bytes] | None = cache.get(_manifest_key(digest))
    if cached is not None:
        media_type, raw = cached
        return Manifest(digest=digest, media_type=media_type, raw=raw, body=json.loads(raw))
    manifest = client.get_manifest(name, digest)
    _keep_manifest(writes, manifest)
    return manifest

"""Browsing the registry: repositories, tags and images, cached and fetched in parallel.

What the pages and the API show, computed from the v2 API through ``registry_client.client``.

Caching (Django's cache, i.e. Redis), keys under ``catalog:v1:<registry URL hash>:``:

- manifests and config blobs by digest, without expiry: content addressed by digest never
  changes. Only those up to ``CATALOG_CACHE_MAX_KB`` are kept (typical ones are a few KB;
  a huge config is fetched each time rather than filling Redis). The summary computed from
  a digest's content (size, created, platforms) is small and kept without expiry too.
- what a tag (or digest) resolves to in a repository, and a repository's tag list, for
  ``CATALOG_TAG_TTL`` seconds: tags move. These keys carry the repository's generation, which
  ``invalidate_repository`` bumps after a delete so nothing stale is shown.
- the repository list with tag counts: refreshed in the background when older than
  ``CATALOG_LIST_TTL`` seconds (stale-while-revalidate, see ``list_repositories``).

Per-tag work for a page goes to a thread pool of ``CATALOG_CONCURRENCY`` threads sharing
the client's connection pool.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.cache import cache

from inventory.types import (
    Attached,
    ContentSummary,
    HelmChart,
    ImageConfig,
    ImageDetail,
    Layer,
    Namespace,
    PlatformImage,
    Referrer,
    Repository,
    TagList,
    TagRow,
)
from registry_client import manifests
from registry_client.client import Manifest, RegistryClient, RegistryError, RegistryNotFound, get_client
from registry_client.pool import bounded_map
from registry_client.references import REFERRERS, attached_to, is_digest, validate_name, validate_reference

logger = logging.getLogger(__name__)

PREFIX = "catalog:v1"


# --- Repositories ----------------------------------------------------------------------


def list_repositories(search: str = "", include_empty: bool = True) -> list[Repository]:
    """Every repository across all registry pages, with tag counts, optionally filtered.

    ``search`` matches anywhere in the name, case-insensitively. Repositories whose tags were
    all deleted stay in the registry's catalog forever (distribution#2314): ``include_empty``
    False hides them.

    Counting tags means one tags list per repository (2,000 requests for 2,000 repositories),
    so the list is served stale-while-revalidate: older than ``CATALOG_LIST_TTL`` it is still
    answered at once while one background thread refreshes it. Only the very first visit (or
    one after Redis lost the key) waits for the registry.
    """
    entry: tuple[float, list[Repository]] | None = cache.get(_repositories_key())
    if entry is None:
        repositories = _refresh_repositories()
    else:
        stamp, repositories = entry
        if time.time() - stamp >= settings.CATALOG_LIST_TTL:
            _refresh_in_background()
    needle = search.strip().lower()
    return [
        repo for repo in repositories if (not needle or needle in repo.name) and (include_empty or not repo.is_empty)
    ]


def _refresh_repositories() -> list[Repository]:
    client = get_client()
    try:
        names = sorted(client.catalog())
        counts = _tag_counts(client, names)
    except RegistryError as e:
        cache.set(f"{_repositories_key()}:failed", (time.time(), e.message), None)
        raise
    repositories = [Repository(name, counts[name]) for name in names]
    cache.set(_repositories_key(), (time.time(), repositories), None)
    cache.delete(f"{_repositories_key()}:failed")
    return repositories


def repositories_stale_notice() -> str | None:
    """Why the repository list shown is old: the registry failed its last refresh (None when fresh).

    The list is still served from what the dashboard last saw; pages and the API say so.
    """
    failure: tuple[float, str] | None = cache.get(f"{_repositories_key()}:failed")
    entry: tuple[float, list[Repository]] | None = cache.get(_repositories_key())
    if failure is None or entry is None or failure[0] < entry[0]:
        return None
    seen = dt.datetime.fromtimestamp(entry[0], tz=dt.UTC)
    return (
        f"Stale: the repository list is as the dashboard last saw it at {seen:%Y-%m-%d %H:%M:%S} UTC, "
        f"because the registry does not answer now. {failure[1]}"
    )


def _refresh_in_background() -> None:
    """Refresh the repository list in a daemon thread, once at a time across processes."""
    lock = f"{_repositories_key()}:refreshing"
    if not cache.add(lock, 1, 300):
        return

    def refresh() -> None:
        try:
            _refresh_repositories()
        except RegistryError as e:  # the next visit shows the stale list and tries again
            logger.warning("Refreshing the repository list failed: %s", e.message)
        finally:
            cache.delete(lock)

    threading.Thread(target=refresh, name="catalog-refresh", daemon=True).start()


def group_by_namespace(repositories: Iterable[Repository]) -> list[Namespace]:
    groups: dict[str, list[Repository]] = {}
    for repo in repositories:
        groups.setdefault(repo.namespace, []).append(repo)
    return [Namespace(name, groups[name]) for name in sorted(groups)]


def _tag_counts(client: RegistryClient, names: list[str]) -> dict[str, int]:
    """Tag counts from the cached tag lists, asking the registry (in parallel) only for the others."""
    generation_keys = {name: _generation_key(name) for name in names}
    generations = cache.get_many(list(generation_keys.values()))
    keys = {name: _tags_key(name, int(generations.get(generation_keys[name]) or 0)) for name in names}
    cached: dict[str, list[str]] = cache.get_many(list(keys.values()))
    writes = _Writes()

    def count(name: str) -> int:
        if keys[name] in cached:
            return len(cached[keys[name]])
        try:
            tags = sorted(client.tags(name))
        except RegistryNotFound:  # listed in _catalog but gone (its directory removed by hand)
            return 0
        writes.keep(keys[name], tags, forever=False)
        return len(tags)

    counts = dict(zip(names, bounded_map(count, names), strict=True))
    writes.flush()
    return counts


# --- Tags ------------------------------------------------------------------------------


def tag_names(name: str) -> list[str]:
    """All tags of a repository, sorted (2.8 answers unsorted); 404 for an unknown repository."""
    validate_name(name)
    return _tag_names(get_client(), name)


def list_tags(name: str) -> TagList:
    """Every image tag of a repository with its details, attached tags grouped under their image."""
    tags = tag_names(name)
    rows = describe_tags(name, [tag for tag in tags if attached_to(tag) is None])
    attached = _attached_by_digest(tags)
    rows = _with_subjects(_with_referrers(name, [_with_attached(row, attached) for row in rows]))
    present = {row.digest for row in rows}
    orphans = [item for digest, items in attached.items() if digest not in present for item in items]
    return TagList(repository=name, rows=rows, orphans=orphans)


def describe_tags(name: str, tags: Sequence[str], attached_tags: Sequence[str] = ()) -> list[TagRow]:
    """Details for the given tags, in their order, fetching only what the cache lacks, in parallel.

    A tag deleted between the listing and this lookup is left out. ``attached_tags`` (the
    repository's full tag list, if the caller has it) fills in each row's signatures.
    """
    validate_name(name)
    client = get_client()
    generation = _generation(name)
    ref_keys = {tag: _ref_key(name, generation, tag) for tag in tags}
    digests: dict[str, str] = cache.get_many(list(ref_keys.values()))
    summary_keys = {digest: _summary_key(digest) for digest in set(digests.values())}
    summaries: dict[str, ContentSummary] = cache.get_many(list(summary_keys.values()))

    def known(tag: str) -> ContentSummary | None:
        digest = digests.get(ref_keys[tag])
        return summaries.get(summary_keys[digest]) if digest else None

    writes = _Writes()

    def fetch(tag: str) -> ContentSummary | None:
        manifest = None
        try:
            digest = digests.get(ref_keys[tag])
            if digest is None:  # one GET gives the digest and the manifest the summary needs
                manifest = client.get_manifest(name, tag)
                digest = manifest.digest
                writes.keep(ref_keys[tag], digest, forever=False)
                _keep_manifest(writes, manifest)
            return _summary(client, name, digest, writes, manifest)
        except RegistryNotFound:
            return None

    missing = [tag for tag in tags if known(tag) is None]
    fetched = dict(zip(missing, bounded_map(fetch, missing), strict=True))
    writes.flush()
    attached = _attached_by_digest(attached_tags)
    rows = []
    for tag in tags:
        summary = known(tag) or fetched.get(tag)
        if summary is not None:
            rows.append(_with_attached(TagRow(tag, summary), attached))
    return _with_referrers(name, rows) if attached else rows


def _referrers_of(name: str, items: Iterable[Attached]) -> dict[str, list[Referrer]]:
    """The attached tags among ``items`` described as attached artifacts, by tag: a sig/att/sbom
    tag is its own manifest; a referrers index tag (sha256-<hex>) stands for the artifacts it
    lists, each opened by its digest (as the inventory shows them once synced)."""
    items = list(items)
    tags = sorted({item.tag for item in items if item.kind != REFERRERS})
    found: dict[str, list[Referrer]] = {
        row.name: [_referrer(row.summary, row.name)] for row in (describe_tags(name, tags) if tags else [])
    }
    indexes = sorted({item.tag for item in items if item.kind == REFERRERS})
    if indexes:
        found.update(_referrers_index_entries(name, indexes))
    return found


def _referrer(summary: ContentSummary, tag: str = "") -> Referrer:
    return Referrer(
        digest=summary.digest,
        kind=summary.kind,
        artifact_type=summary.artifact_type,
        size=summary.size,
        created=summary.created,
        tag=tag,
    )


def _referrers_index_entries(name: str, tags: Sequence[str]) -> dict[str, list[Referrer]]:
    """Per referrers index tag the artifacts it lists (through the caches; a missing one is left out)."""
    client = get_client()
    generation = _generation(name)
    writes = _Writes()

    def entries(tag: str) -> list[Referrer]:
        try:
            digest, fetched = _resolve(client, name, generation, tag, writes)
            index = fetched or _manifest(client, name, digest, writes)
        except RegistryNotFound:
            return []
        found = []
        for entry in manifests.referrer_entries(index.body):
            try:
                found.append(_referrer(_summary(client, name, entry, writes)))
            except RegistryNotFound:
                continue
        return found

    described = dict(zip(tags, bounded_map(entries, tags), strict=True))
    writes.flush()
    return described


def _with_referrers(name: str, rows: list[TagRow]) -> list[TagRow]:
    described = _referrers_of(name, [item for row in rows for item in row.attached])
    return [
        replace(row, referrers=tuple(r for item in row.attached for r in described.get(item.tag, ())))
        if row.attached
        else row
        for row in rows
    ]


def _with_subjects(rows: list[TagRow]) -> list[TagRow]:
    """Tagged artifacts whose ``subject`` is another row's manifest join that row's attached
    artifacts instead of being rows of their own (as ``catalog.stored.image_rows`` does)."""
    present = {row.digest for row in rows}
    artifacts: dict[str, list[Referrer]] = {}
    for row in rows:
        subject = row.summary.subject
        if subject and subject in present and subject != row.digest:
            artifacts.setdefault(subject, []).append(_referrer(row.summary, row.name))
    if not artifacts:
        return rows
    kept = [row for row in rows if not (row.summary.subject in present and row.summary.subject != row.digest)]
    return [
        replace(row, referrers=_unique_referrers((*row.referrers, *artifacts[row.digest])))
        if row.digest in artifacts
        else row
        for row in kept
    ]


def _unique_referrers(referrers: Iterable[Referrer]) -> tuple[Referrer, ...]:
    seen: dict[str, Referrer] = {}
    for referrer in referrers:
        seen.setdefault(referrer.digest, referrer)
    return tuple(seen.values())


def content_blobs(name: str) -> dict[str, dict[str, int]]:
    """Every tag of a repository with the blobs it references: ``{tag: {blob digest: compressed size}}``.

    The blobs are the ones a tag's catalog size adds up (see ``ContentSummary``): config and
    layers of an image; for an index, those of its platforms, BuildKit attestations left out,
    so ``sum(blobs.values())`` is the size its row shows. A platform the registry does not
    hold (an index pushed with some platforms only) adds nothing, the others still count
    (``describe_tags`` leaves such a tag out, having no summary for it).
    Attached tags (signatures, SBOMs) are tags like any other here; a referrers index tag
    (``sha256-<hex>``) references the blobs of the artifacts it lists. A tag deleted meanwhile
    is left out; 404 for an unknown repository.

    Through the catalog's caches (tag list and tag digests for ``CATALOG_TAG_TTL``, manifests
    by digest forever) and its thread pool: warm, a repository costs no registry request.
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
            return _blob_sizes(manifest)
        referenced: dict[str, int] = {}
        # A referrers index (sha256-<hex>) holds its artifacts' blobs, as the inventory counts them.
        entries = [child for _, child in _platform_entries(manifest)] + manifests.referrer_entries(manifest.body)
        for child in entries:
            try:
                referenced.update(_blob_sizes(_manifest(client, name, child, writes)))
            except RegistryNotFound:
                continue
        return referenced

    found = dict(zip(tags, bounded_map(blobs, tags), strict=True))
    writes.flush()
    return {tag: referenced for tag, referenced in found.items() if referenced is not None}


def sort_rows(rows: list[TagRow], ordering: str) -> list[TagRow]:
    """Sort by ``name``, ``created`` or ``size``; a leading ``-`` reverses. Rows without a date go last."""
    key = ordering.lstrip("-")
    reverse = ordering.startswith("-")
    if key not in ("created", "size"):  # pushed and last pulled are known to the inventory only
        return sorted(rows, key=lambda row: row.name, reverse=reverse and key == "name")
    if key == "created":
        dated = [row for row in rows if row.created is not None]
        undated = [row for row in rows if row.created is None]
        return sorted(dated, key=lambda row: (row.created, row.name), reverse=reverse) + undated
    if key == "size":
        return sorted(rows, key=lambda row: (row.size, row.name), reverse=reverse)
    return sorted(rows, key=lambda row: row.name, reverse=reverse)


ORDERINGS = ("name", "-name", "created", "-created", "size", "-size")


def _attached_by_digest(tags: Iterable[str]) -> dict[str, list[Attached]]:
    attached: dict[str, list[Attached]] = {}
    for tag in tags:
        subject = attached_to(tag)
        if subject is not None:
            attached.setdefault(subject[0], []).append(Attached(tag=tag, kind=subject[1]))
    return attached


def _with_attached(row: TagRow, attached: dict[str, list[Attached]]) -> TagRow:
    items = attached.get(row.digest)
    return replace(row, attached=tuple(items)) if items else row


# --- Images ----------------------------------------------------------------------------


def image_detail(name: str, reference: str) -> ImageDetail:
    """The image page of a tag or a digest: its layers and config, or its platforms for an index."""
    validate_name(name)
    validate_reference(reference)
    client = get_client()
    writes = _Writes()
    digest, fetched = _resolve(client, name, _generation(name), reference, writes)
    manifest = fetched or _manifest(client, name, digest, writes)
    summary = _summary(client, name, digest, writes, manifest)
    config_descriptor = manifest.body.get("config") or {}
    config: ImageConfig | None = None
    chart: HelmChart | None = None
    if not manifest.is_index and _is_json(config_descriptor):
        blob = _config_blob(client, name, config_descriptor, writes)
        if summary.kind == "helm-chart":
            chart = HelmChart.from_config(blob)
        elif summary.kind == "image":
            config = ImageConfig.from_blob(blob) if blob else None
    writes.flush()
    tags = _tag_names(client, name)
    attached = _attached_by_digest(tags).get(digest, [])
    referrers = [r for found in _referrers_of(name, attached).values() for r in found]
    # Tagged artifacts naming it as their subject (through the caches the tag table fills).
    for row in describe_tags(name, [tag for tag in tags if attached_to(tag) is None]):
        if row.summary.subject == digest and row.digest != digest:
            referrers.append(_referrer(row.summary, row.name))
    return ImageDetail(
        repository=name,
        reference=reference,
        tag=None if is_digest(reference) else reference,
        summary=summary,
        layers=tuple(_layers(manifest)),
        config_digest=str(config_descriptor.get("digest") or ""),
        config=config,
        attached=tuple(attached),
        annotations={str(k): str(v) for k, v in (manifest.body.get("annotations") or {}).items()},
        chart=chart,
        referrers=_unique_referrers(referrers),
    )


# --- Invalidation ----------------------------------------------------------------------


def invalidate_repository(name: str) -> None:
    """Forget what tags of ``name`` point to, its tag list and the repository list (after a delete).

    Content cached by digest stays: it cannot change, and lookups by digest are re-checked
    against the registry through the (now bumped) repository generation.
    """
    key = _generation_key(name)
    try:
        cache.incr(key)
    except ValueError:  # no generation yet
        cache.set(key, 1, None)
    # Recount this one repository in the cached list rather than dropping it (a recount of
    # every repository is the expensive part).
    entry: tuple[float, list[Repository]] | None = cache.get(_repositories_key())
    if entry is None:
        return
    stamp, repositories = entry
    try:
        count = len(_tag_names(get_client(), name))
    except RegistryNotFound:
        count = 0
    except RegistryError:
        cache.delete(_repositories_key())
        return
    others = [repo for repo in repositories if repo.name != name]
    updated = sorted([*others, Repository(name, count)], key=lambda repo: repo.name)
    cache.set(_repositories_key(), (stamp, updated), None)


# --- Fetching through the cache -------------------------------------------------------


def _registry() -> str:
    """Keys are per registry: pointing REGISTRY_URL elsewhere must not show the old registry's data."""
    return f"{PREFIX}:{hashlib.sha256(settings.REGISTRY_URL.encode()).hexdigest()[:12]}"


def _repositories_key() -> str:
    return f"{_registry()}:repositories"


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


def _summary_key(digest: str) -> str:
    # v3: summaries carry their kind and subject (issue 15); those cached before are not read again.
    return f"{_registry()}:summary3:{digest}"


def _manifest_key(digest: str) -> str:
    return f"{_registry()}:manifest:{digest}"


def _blob_key(digest: str) -> str:
    return f"{_registry()}:blob:{digest}"


class _Writes:
    """Cache entries gathered while filling a page (from the pool's threads), written at the end
    in two pipelined batches instead of one round trip each."""

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


def _cacheable(size: int) -> bool:
    return size <= settings.CATALOG_CACHE_MAX_KB * 1024


def _tag_names(client: RegistryClient, name: str) -> list[str]:
    key = _tags_key(name, _generation(name))
    tags: list[str] | None = cache.get(key)
    if tags is None:
        tags = sorted(client.tags(name))
        cache.set(key, tags, settings.CATALOG_TAG_TTL)
    return tags


def _resolve(
    client: RegistryClient, name: str, generation: int, reference: str, writes: _Writes
) -> tuple[str, Manifest | None]:
    """The digest a tag (or digest) has in this repository now, and the manifest if it was fetched.

    A tag is resolved with one GET (its Docker-Content-Digest, and the manifest itself, which
    the summary needs next); a digest with a HEAD, which checks it still exists here.
    """
    key = _ref_key(name, generation, reference)
    digest: str | None = cache.get(key)
    if digest is not None:
        return digest, None
    manifest = None
    if is_digest(reference):
        digest = client.head_manifest(name, reference).digest
    else:
        manifest = client.get_manifest(name, reference)
        digest = manifest.digest
        _keep_manifest(writes, manifest)
    writes.keep(key, digest, forever=False)
    return digest, manifest


def _keep_manifest(writes: _Writes, manifest: Manifest) -> None:
    if manifest.digest and _cacheable(len(manifest.raw)):
        writes.keep(_manifest_key(manifest.digest), (manifest.media_type, manifest.raw), forever=True)


def _manifest(client: RegistryClient, name: str, digest: str, writes: _Writes) -> Manifest:
    cached: tuple[str, bytes] | None = cache.get(_manifest_key(digest))
    if cached is not None:
        media_type, raw = cached
        return Manifest(digest=digest, media_type=media_type, raw=raw, body=json.loads(raw))
    manifest = client.get_manifest(name, digest)
    _keep_manifest(writes, manifest)
    return manifest


def _config_blob(client: RegistryClient, name: str, descriptor: dict[str, Any], writes: _Writes) -> dict[str, Any]:
    digest = str(descriptor["digest"])
    cached: bytes | None = cache.get(_blob_key(digest))
    raw = cached if cached is not None else client.get_blob(name, digest)
    if cached is None and _cacheable(len(raw)):
        writes.keep(_blob_key(digest), raw, forever=True)
    try:
        blob = json.loads(raw)
    except ValueError:
        return {}
    return blob if isinstance(blob, dict) else {}


def _summary(
    client: RegistryClient, name: str, digest: str, writes: _Writes, manifest: Manifest | None = None
) -> ContentSummary:
    key = _summary_key(digest)
    summary: ContentSummary | None = cache.get(key)
    if summary is None:
        summary = _summarise(client, name, manifest or _manifest(client, name, digest, writes), writes)
        writes.keep(key, summary, forever=True)
    return summary


def _summarise(client: RegistryClient, name: str, manifest: Manifest, writes: _Writes) -> ContentSummary:
    if manifest.is_index:
        children = []
        blobs: dict[str, int] = {}
        created: list[dt.datetime] = []
        for platform_name, child_digest in _platform_entries(manifest):
            child_manifest = _manifest(client, name, child_digest, writes)
            child = _summary(client, name, child_digest, writes, child_manifest)
            children.append(
                PlatformImage(platform=platform_name, digest=child.digest, size=child.size, media_type=child.media_type)
            )
            blobs.update(_blob_sizes(child_manifest))
            if child.created is not None:
                created.append(child.created)
        return ContentSummary(
            digest=manifest.digest,
            media_type=manifest.media_type,
            size=sum(blobs.values()),
            created=max(created) if created else None,
            platforms=tuple(child.platform for child in children),
            children=tuple(children),
            classified="index",
            artifact_type=str(manifest.body.get("artifactType") or ""),
            subject=manifests.subject_digest(manifest.body),
        )
    descriptor = manifest.body.get("config") or {}
    config = _config_blob(client, name, descriptor, writes) if _is_json(descriptor) else {}
    platform = _platform({"platform": config}) if config.get("os") else None
    kind, artifact_type = manifests.classify(manifest.media_type, manifest.body)
    return ContentSummary(
        digest=manifest.digest,
        media_type=manifest.media_type,
        size=sum(_blob_sizes(manifest).values()),
        created=parse_created(config.get("created")),
        platforms=(platform,) if platform else (),
        classified=kind,
        artifact_type=artifact_type,
        subject=manifests.subject_digest(manifest.body),
    )


def _platform_entries(manifest: Manifest) -> list[tuple[str, str]]:
    return manifests.platform_entries(manifest.body)


def _blob_sizes(manifest: Manifest) -> dict[str, int]:
    return manifests.blob_sizes(manifest.body)


def _layers(manifest: Manifest) -> list[Layer]:
    return [
        Layer(digest=str(d.get("digest", "")), size=int(d.get("size") or 0), media_type=str(d.get("mediaType", "")))
        for d in manifest.body.get("layers") or []
        if isinstance(d, dict)
    ]


_platform = manifests.platform
parse_created = manifests.parse_created
_is_json = manifests.is_json_config


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)

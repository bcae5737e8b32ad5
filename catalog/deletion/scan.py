"""What a repository holds, read once for a plan: every tag resolved to its digest, each
tagged index's platforms, and the artifacts attached to each manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inventory import attachments as inventory_attachments
from registry_client import references
from registry_client.client import INDEX_TYPES, ManifestRef, RegistryClient, RegistryError, RegistryNotFound
from registry_client.pool import bounded_map


@dataclass(frozen=True)
class IndexRef:
    """An index (multi-arch image) that references a manifest, and the tags naming it."""

    digest: str
    tags: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "tags": list(self.tags)}


@dataclass(frozen=True)
class RepositoryScan:
    """Every tag of a repository resolved to its digest, and what each tagged index contains."""

    name: str
    refs: dict[str, ManifestRef]
    children: dict[str, frozenset[str]]  # index digest -> digests of its manifests[]
    # subject digest -> the artifacts attached to it by digest, no tag of their own: the entries
    # of its referrers index tag (sha256-<hex>) and those the inventory knows from their push.
    by_digest: dict[str, frozenset[str]] = field(default_factory=dict)

    def tags_of(self, digest: str) -> tuple[str, ...]:
        return tuple(sorted(tag for tag, ref in self.refs.items() if ref.digest == digest))

    def indexes_referencing(self, digest: str) -> tuple[IndexRef, ...]:
        return tuple(
            IndexRef(index, self.tags_of(index))
            for index, members in sorted(self.children.items())
            if digest in members and index != digest
        )


def scan_repository(client: RegistryClient, name: str) -> RepositoryScan:
    """HEAD every tag (all four media types, in parallel) and read each tagged index."""
    tags = client.tags(name)

    def head(tag: str) -> ManifestRef | None:
        try:
            return client.head_manifest(name, tag)
        except RegistryNotFound:
            return None  # deleted since the tag list was read

    refs = {tag: ref for tag, ref in zip(tags, bounded_map(head, tags), strict=True) if ref is not None}
    indexes = sorted({ref.digest for ref in refs.values() if ref.media_type in INDEX_TYPES})

    def members(digest: str) -> frozenset[str]:
        try:
            body = client.get_manifest(name, digest).body
        except RegistryNotFound:
            return frozenset()
        return frozenset(str(entry.get("digest", "")) for entry in body.get("manifests") or [])

    children = dict(zip(indexes, bounded_map(members, indexes), strict=True))
    return RepositoryScan(name=name, refs=refs, children=children, by_digest=_by_digest(name, refs, children))


def _by_digest(
    name: str, refs: dict[str, ManifestRef], children: dict[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    """Per subject its untagged attached artifacts (see ``RepositoryScan.by_digest``)."""
    found: dict[str, set[str]] = {}
    for tag, ref in refs.items():
        attached = references.attached_to(tag)
        if attached is not None and attached[1] == references.REFERRERS:
            found.setdefault(attached[0], set()).update(children.get(ref.digest, frozenset()))
    tagged = {ref.digest for ref in refs.values()}
    platforms = {digest for members in children.values() for digest in members}  # an SBOM may describe one
    for subject, manifests in inventory_attachments.of_subjects(name, tagged | platforms).items():
        found.setdefault(subject, set()).update(m.digest for m in manifests)
    return {subject: frozenset(d for d in digests if d not in tagged) for subject, digests in found.items()}


def attached_tags(scan: RepositoryScan, digest: str) -> tuple[str, ...]:
    """The sha256-<hex>.sig|.att|.sbom and sha256-<hex> tags attached to ``digest``."""
    return tuple(
        tag for tag in sorted(scan.refs) if (found := references.attached_to(tag)) is not None and found[0] == digest
    )


def scan_children(client: RegistryClient, name: str, digest: str) -> frozenset[str]:
    """The manifests an index lists (empty for an image or a manifest already gone)."""
    try:
        manifest = client.get_manifest(name, digest)
    except RegistryError:
        return frozenset()
    if manifest.media_type not in INDEX_TYPES:
        return frozenset()
    return frozenset(str(entry.get("digest", "")) for entry in manifest.body.get("manifests") or [])

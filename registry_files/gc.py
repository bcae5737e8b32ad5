"""What a garbage collection would do, worked out from the storage files alone.

The same mark and sweep as ``registry garbage-collect`` (distribution's
``registry/storage/garbagecollect.go``), read-only:

- every repository's manifest revisions are marked with the blobs they reference (an image's
  config and layers, an index's entries); with ``delete_untagged`` only the revisions a tag
  points at, and on v3 recursively what they reference (PR #4285: a tagged index keeps its
  children) — on 2.x the children of an index are not followed (distribution#3178, #3004);
- an untagged revision that something marked stays (v3's ``unmarkReferencedManifest``);
- every blob under ``blobs/`` not marked is eligible for deletion.

``tag_reach`` is the other question: which blobs the tags reach (through indexes, their
platforms and the artifacts a referrers index lists), and by which tags. A GC must never sweep one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from registry_files.layout import BlobMissing, StorageFiles


def references(body: object) -> list[str]:
    """The digests a manifest references, as distribution's ``References()``: an image's config and
    layers, an index's entries (attestations and artifacts included)."""
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    for key in ("config",):
        descriptor = body.get(key)
        if isinstance(descriptor, dict) and descriptor.get("digest"):
            found.append(str(descriptor["digest"]))
    for key in ("layers", "manifests"):
        for descriptor in body.get(key) or []:
            if isinstance(descriptor, dict) and descriptor.get("digest"):
                found.append(str(descriptor["digest"]))
    return found


@dataclass
class Prediction:
    """What ``garbage-collect [--delete-untagged] --dry-run`` would say."""

    delete_untagged: bool
    marked: set[str] = field(default_factory=set)
    #: digest -> bytes on disk, of every blob a GC would delete
    eligible: dict[str, int] = field(default_factory=dict)
    #: repository -> the untagged manifests (revisions no tag points at and nothing marked)
    untagged: dict[str, list[str]] = field(default_factory=dict)

    @property
    def bytes_eligible(self) -> int:
        return sum(self.eligible.values())

    @property
    def manifests_eligible(self) -> int:
        return sum(len(found) for found in self.untagged.values()) if self.delete_untagged else 0


class _Manifests:
    """Manifest references read once per digest."""

    def __init__(self, files: StorageFiles) -> None:
        self.files = files
        self.cache: dict[str, list[str]] = {}

    def references(self, digest: str) -> list[str]:
        if digest not in self.cache:
            try:
                body = json.loads(self.files.read_blob(digest))
            except (BlobMissing, ValueError):
                body = None
            self.cache[digest] = references(body)
        return self.cache[digest]


class Walk:
    """One reading of the storage's directories and manifests, shared by the passes of ``space``:
    repositories, each one's revisions and tag links, and each manifest's references are read once
    (the Storage page's figures took three full walks, each parsing every manifest again)."""

    def __init__(self, files: StorageFiles) -> None:
        self.files = files
        self.manifests = _Manifests(files)
        self.repositories = files.repositories()
        self._revisions: dict[str, list[str]] = {}
        self._tagged: dict[str, list[str]] = {}
        self._blobs: list[tuple[str, int]] | None = None

    def revisions(self, repository: str) -> list[str]:
        if repository not in self._revisions:
            self._revisions[repository] = self.files.revisions(repository)
        return self._revisions[repository]

    def tagged(self, repository: str) -> list[str]:
        """The digests the repository's tags point at, in tag order."""
        if repository not in self._tagged:
            self._tagged[repository] = [link.digest for link in self.files.tags(repository)]
        return self._tagged[repository]

    def blobs(self) -> list[tuple[str, int]]:
        if self._blobs is None:
            self._blobs = list(self.files.blobs())
        return self._blobs


def predict(files: StorageFiles, delete_untagged: bool, v3: bool = True, walk: Walk | None = None) -> Prediction:
    """The blobs (and untagged manifests) a GC of this storage would delete."""
    walk = walk or Walk(files)
    prediction = Prediction(delete_untagged)
    marked = prediction.marked
    manifests = walk.manifests
    candidates: dict[str, list[str]] = {}
    for repository in walk.repositories:
        revisions = walk.revisions(repository)
        present = set(revisions)
        tagged = set(walk.tagged(repository))
        for digest in revisions:
            if delete_untagged and digest not in tagged:
                candidates.setdefault(repository, []).append(digest)
                continue
            marked.add(digest)
            if v3:
                _mark_recursively(digest, manifests, present, marked)
            else:
                marked.update(manifests.references(digest))
    for repository, digests in candidates.items():
        left = [digest for digest in digests if not v3 or digest not in marked]
        if left:
            prediction.untagged[repository] = left
    prediction.eligible = {digest: size for digest, size in walk.blobs() if digest not in marked}
    return prediction


def _mark_recursively(digest: str, manifests: _Manifests, present: set[str], marked: set[str]) -> None:
    stack = [digest]
    while stack:
        for reference in manifests.references(stack.pop()):
            if reference in marked:
                continue
            marked.add(reference)
            if reference in present:  # a manifest of this repository: its references too
                stack.append(reference)


def untagged_manifests(files: StorageFiles, walk: Walk | None = None) -> dict[str, list[str]]:
    """Per repository, the manifests no tag reaches (directly or through an index of the repository)."""
    walk = walk or Walk(files)
    found: dict[str, list[str]] = {}
    manifests = walk.manifests
    for repository in walk.repositories:
        revisions = walk.revisions(repository)
        present = set(revisions)
        reached: set[str] = set()
        for digest in walk.tagged(repository):
            reached.add(digest)
            _mark_recursively(digest, manifests, present, reached)
        left = [digest for digest in revisions if digest not in reached]
        if left:
            found[repository] = left
    return found


def tag_reach(files: StorageFiles) -> dict[str, set[str]]:
    """Every digest (manifest, config, layer) a tag reaches, with the ``repository:tag`` names reaching it.

    Through indexes (platforms, attestations) and referrers indexes (the ``sha256-<hex>`` tag's
    artifacts), as far as the repository holds the manifests.
    """
    reach: dict[str, set[str]] = {}
    manifests = _Manifests(files)
    for repository in files.repositories():
        present = set(files.revisions(repository))
        for link in files.tags(repository):
            name = f"{repository}:{link.tag}"
            seen = {link.digest}
            _mark_recursively(link.digest, manifests, present, seen)
            for digest in seen:
                reach.setdefault(digest, set()).add(name)
    return reach


#: The registry's upload purging default (``storage.maintenance.uploadpurging``): uploads older
#: than this are removed by the registry itself, checked every 24 h.
UPLOAD_PURGE_AGE_HOURS = 168


@dataclass(frozen=True)
class UploadPurging:
    """The registry's ``storage.maintenance.uploadpurging``: on or off, the age, and where it was read."""

    enabled: bool = True
    age_hours: float = UPLOAD_PURGE_AGE_HOURS
    read_from: str = "default"  # "configuration" when read from the registry container's configuration

    def as_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "age_hours": self.age_hours, "read_from": self.read_from}


def space(
    files: StorageFiles, now: dt.datetime, shown: int = 50, purging: UploadPurging | None = None
) -> dict[str, Any]:
    """Everything the Storage page shows from the files: blobs on disk, what a GC would free (with
    and without --delete-untagged), untagged manifests per repository, upload leftovers (and when
    the registry's upload purging removes each, ``purging`` as its configuration says, by default
    its default)."""
    purging = purging or UploadPurging()
    walk = Walk(files)  # every directory and manifest read once for the three passes
    on_disk = dict(walk.blobs())
    plain = predict(files, delete_untagged=False, walk=walk)
    untagged_run = predict(files, delete_untagged=True, walk=walk)
    untagged = untagged_manifests(files, walk=walk)
    uploads = [upload for name in walk.repositories for upload in files.uploads(name)]
    uploads.sort(key=lambda upload: -upload.size)
    purge_age = dt.timedelta(hours=purging.age_hours)
    return {
        "blobs": len(on_disk),
        "bytes": sum(on_disk.values()),
        "gc": {"blobs_eligible": len(plain.eligible), "bytes_eligible": plain.bytes_eligible, "manifests_eligible": 0},
        "gc_delete_untagged": {
            "blobs_eligible": len(untagged_run.eligible),
            "bytes_eligible": untagged_run.bytes_eligible,
            "manifests_eligible": untagged_run.manifests_eligible,
        },
        "untagged_manifests": sum(len(found) for found in untagged.values()),
        "untagged_repositories": [
            {"name": name, "manifests": len(found)}
            for name, found in sorted(untagged.items(), key=lambda item: (-len(item[1]), item[0]))[:shown]
        ],
        "untagged_repository_count": len(untagged),
        "uploads": [
            {
                "repository": upload.repository,
                "uuid": upload.uuid,
                "bytes": upload.size,
                "started": (upload.started or upload.modified).isoformat(),
                "age_seconds": int(upload.age_seconds(now)),
                "purged_after": ((upload.started or upload.modified) + purge_age).isoformat()
                if purging.enabled
                else None,
            }
            for upload in uploads[:shown]
        ],
        "upload_count": len(uploads),
        "upload_bytes": sum(upload.size for upload in uploads),
        "upload_purging": purging.as_dict(),
    }

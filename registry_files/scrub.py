"""Scrub: read every blob, check its sha256 against its name and each manifest's references
against the blobs present, at a limited rate and incrementally (as zot's scrub does).

Read-only like the rest of ``registry_files``: it reports, it never repairs. ``verified`` holds
what an earlier scrub proved (digest -> (size, mtime_ns)); a blob unchanged since is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from registry_files.gc import _Manifests, _mark_recursively, references
from registry_files.layout import RegistryFilesError, StorageFiles

CHUNK = 1 << 20


@dataclass
class Finding:
    """A damaged blob (its content does not hash to its name) or a missing one (referenced, absent)."""

    digest: str
    problem: str  # "damaged" or "missing"
    detail: str
    tags: list[str] = field(default_factory=list)  # repository:tag names it breaks
    images: list[str] = field(default_factory=list)  # repository@digest of the tagged manifests it breaks

    def as_dict(self) -> dict[str, object]:
        return {
            "digest": self.digest,
            "problem": self.problem,
            "detail": self.detail,
            "tags": self.tags,
            "images": self.images,
            "advice": self.advice(),
        }

    def advice(self) -> str:
        """What to do: the dashboard never repairs (the files are mounted read-only)."""
        if not self.tags:
            return "No tag uses it: a garbage collection removes it."
        tags = ", ".join(self.tags[:5]) + (f" and {len(self.tags) - 5} more tags" if len(self.tags) > 5 else "")
        # distribution's blobWriter keeps a blob it already has ("detection of such corruption belongs
        # elsewhere"), and its blob-descriptor cache still lists a blob gone from the disk
        # (distribution#1803): both must go before a push restores the bytes.
        hexpart = self.digest.partition(":")[2]
        if self.problem == "damaged":
            return (
                f"Delete its directory docker/registry/v2/blobs/sha256/{hexpart[:2]}/{hexpart} on the registry's host "
                "(a push never replaces a blob the registry already has) and restart the registry (its blob cache "
                f"still lists it). Push {tags} again, then scrub again."
            )
        return f"Restart the registry (its blob cache may still list it). Push {tags} again, then scrub again."


@dataclass
class ScrubOutcome:
    findings: list[Finding]
    verified: dict[str, tuple[int, int]]  # what is proved now, for the next scrub
    read_blobs: int
    read_bytes: int
    skipped_blobs: int
    seconds: float
    slept: float = 0.0  # seconds spent waiting to keep to the rate


class RateLimit:
    """Never read faster than ``max_mbps`` MiB/s on average since the start (0: no limit).

    ``wait_for(count)`` is called after ``count`` more bytes were read and returns the seconds it
    slept (``sleep`` is injectable: a test checks the sleeps computed, not the clock).
    """

    def __init__(
        self,
        max_mbps: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max_mbps * 1024 * 1024
        self.sleep = sleep
        self.clock = clock
        self.started = clock()
        self.bytes = 0
        self.slept = 0.0

    def wait_for(self, count: int) -> float:
        self.bytes += count
        if self.limit <= 0:
            return 0.0
        ahead = self.bytes / self.limit - (self.clock() - self.started)
        if ahead <= 0:
            return 0.0
        self.sleep(ahead)
        self.slept += ahead
        return ahead


def _hash(path: Path, limiter: RateLimit) -> tuple[str, int] | None:
    """The file's sha256 and its length, read in CHUNKs at the limiter's pace; None when it went away."""
    hasher = hashlib.sha256()
    read = 0
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None  # removed since the walk listed it (a GC sweeping): nothing to prove
    try:
        while chunk := os.read(fd, CHUNK):
            hasher.update(chunk)
            read += len(chunk)
            limiter.wait_for(len(chunk))
    finally:
        os.close(fd)
    return f"sha256:{hasher.hexdigest()}", read


def scrub(
    files: StorageFiles,
    verified: dict[str, tuple[int, int]] | None = None,
    max_mbps: float = 50.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int, int, int], None] | None = None,
    progress_every: int = 1000,
) -> ScrubOutcome:
    """Check every blob (skipping those ``verified`` and unchanged) and every manifest's references.

    ``progress(done, read, skipped)`` is called every ``progress_every`` blobs.
    """
    began = time.monotonic()
    known = dict(verified or {})
    now_verified: dict[str, tuple[int, int]] = {}
    findings: list[Finding] = []
    read_blobs = read_bytes = skipped = 0
    limiter = RateLimit(max_mbps, sleep)
    present: set[str] = set()
    for done, (digest, _) in enumerate(files.blobs(), start=1):
        if progress is not None and done % progress_every == 0:
            progress(done, read_blobs, skipped)
        present.add(digest)
        path = files.blob_path(digest)
        try:
            stat = path.stat()
        except FileNotFoundError:
            present.discard(digest)
            continue
        stamp = (stat.st_size, stat.st_mtime_ns)
        if known.get(digest) == stamp:
            now_verified[digest] = stamp
            skipped += 1
            continue
        hashed = _hash(path, limiter)
        if hashed is None:
            present.discard(digest)
            continue
        actual, count = hashed
        read_bytes += count
        read_blobs += 1
        if actual == digest:
            now_verified[digest] = stamp
        else:
            findings.append(Finding(digest, "damaged", f"its content hashes to {actual}"))
    damaged = {finding.digest for finding in findings}
    missing: dict[str, Finding] = {}
    for repository in files.repositories():
        for manifest in files.revisions(repository):
            if manifest not in present:
                if manifest not in missing:
                    missing[manifest] = Finding(manifest, "missing", f"manifest of {repository} has no blob")
                continue
            if manifest in damaged:
                continue
            try:
                body = json.loads(files.read_blob(manifest))
            except (ValueError, RegistryFilesError):
                continue
            for reference in references(body):
                if reference not in present and reference not in missing:
                    missing[reference] = Finding(reference, "missing", f"referenced by {repository}@{manifest}")
    # What a GC swept while this scrub ran was listed, then removed with what referenced it: only a
    # blob still absent and still referenced is missing.
    still = _still_referenced(files, set(missing))
    findings += [finding for digest, finding in missing.items() if digest in still and files.blob_size(digest) is None]
    if findings:
        breaks = tag_breaks(files)
        for finding in findings:
            tags, images = breaks.get(finding.digest, (set(), set()))
            finding.tags, finding.images = sorted(tags), sorted(images)
    return ScrubOutcome(
        findings, now_verified, read_blobs, read_bytes, skipped, time.monotonic() - began, round(limiter.slept, 3)
    )


def _still_referenced(files: StorageFiles, digests: set[str]) -> set[str]:
    """Which of ``digests`` a revision link names, or a present manifest references, now."""
    if not digests:
        return set()
    found: set[str] = set()
    for repository in files.repositories():
        for manifest in files.revisions(repository):
            if manifest in digests:
                found.add(manifest)
            try:
                body = json.loads(files.read_blob(manifest))
            except (ValueError, RegistryFilesError):
                continue
            found.update(reference for reference in references(body) if reference in digests)
    return found


def tag_breaks(files: StorageFiles) -> dict[str, tuple[set[str], set[str]]]:
    """Every digest a tag reaches -> (the ``repository:tag`` names, the ``repository@digest`` tagged
    manifests reaching it): what a damaged or missing blob breaks."""
    reach: dict[str, tuple[set[str], set[str]]] = {}
    manifests = _Manifests(files)
    for repository in files.repositories():
        present = set(files.revisions(repository))
        for link in files.tags(repository):
            seen = {link.digest}
            _mark_recursively(link.digest, manifests, present, seen)
            for digest in seen:
                tags, images = reach.setdefault(digest, (set(), set()))
                tags.add(f"{repository}:{link.tag}")
                images.add(f"{repository}@{link.digest}")
    return reach

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

from registry_files.gc import references, tag_reach
from registry_files.layout import StorageFiles

CHUNK = 1 << 20


@dataclass
class Finding:
    """A damaged blob (its content does not hash to its name) or a missing one (referenced, absent)."""

    digest: str
    problem: str  # "damaged" or "missing"
    detail: str
    tags: list[str] = field(default_factory=list)  # repository:tag names it breaks

    def as_dict(self) -> dict[str, object]:
        advice = (
            f"Push {', '.join(self.tags[:5])} again (a docker push of the same image restores the blob)."
            if self.tags
            else "No tag uses it: a garbage collection removes it."
        )
        return {
            "digest": self.digest,
            "problem": self.problem,
            "detail": self.detail,
            "tags": self.tags,
            "advice": advice,
        }


@dataclass
class ScrubOutcome:
    findings: list[Finding]
    verified: dict[str, tuple[int, int]]  # what is proved now, for the next scrub
    read_blobs: int
    read_bytes: int
    skipped_blobs: int
    seconds: float


def scrub(
    files: StorageFiles,
    verified: dict[str, tuple[int, int]] | None = None,
    max_mbps: float = 50.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ScrubOutcome:
    """Check every blob (skipping those ``verified`` and unchanged) and every manifest's references."""
    began = time.monotonic()
    known = dict(verified or {})
    now_verified: dict[str, tuple[int, int]] = {}
    findings: list[Finding] = []
    read_blobs = read_bytes = skipped = 0
    budget_started = time.monotonic()
    budget_bytes = 0
    limit = max_mbps * 1024 * 1024
    present: set[str] = set()
    for digest, _ in files.blobs():
        present.add(digest)
        path = files.blob_path(digest)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        stamp = (stat.st_size, stat.st_mtime_ns)
        if known.get(digest) == stamp:
            now_verified[digest] = stamp
            skipped += 1
            continue
        hasher = hashlib.sha256()
        fd = os.open(path, os.O_RDONLY)
        try:
            while chunk := os.read(fd, CHUNK):
                hasher.update(chunk)
                read_bytes += len(chunk)
                budget_bytes += len(chunk)
                if limit > 0:  # SCRUB_MAX_MBPS: never read faster than that on average
                    ahead = budget_bytes / limit - (time.monotonic() - budget_started)
                    if ahead > 0:
                        sleep(ahead)
        finally:
            os.close(fd)
        read_blobs += 1
        if f"sha256:{hasher.hexdigest()}" == digest:
            now_verified[digest] = stamp
        else:
            findings.append(Finding(digest, "damaged", f"its content hashes to sha256:{hasher.hexdigest()}"))
    damaged = {finding.digest for finding in findings}
    for repository in files.repositories():
        for manifest in files.revisions(repository):
            if manifest not in present:
                findings.append(Finding(manifest, "missing", f"manifest of {repository} has no blob"))
                continue
            if manifest in damaged:
                continue
            try:
                body = json.loads(files.read_blob(manifest))
            except ValueError:
                continue
            for reference in references(body):
                if reference not in present and not any(f.digest == reference for f in findings):
                    findings.append(Finding(reference, "missing", f"referenced by {repository}@{manifest}"))
    if findings:
        reach = tag_reach(files)
        for finding in findings:
            finding.tags = sorted(reach.get(finding.digest, set()))
    return ScrubOutcome(findings, now_verified, read_blobs, read_bytes, skipped, time.monotonic() - began)

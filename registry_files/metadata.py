"""The registry's own bookkeeping on disk: everything under the data directory that is not a blob's
``data`` nor an upload's ``data``, read-only (``stat`` only).

Distribution keeps a directory per repository, per tag (``_manifests/tags/<tag>/current`` and
``index/``), per manifest revision and per linked layer, each holding a ``link`` file of about 71
bytes; every blob has its own two directories too. On a registry of 10,000 repositories these
come to about a gigabyte (issue 25: ``du`` showed 998 MB of directories and link files beside
80 MB of blobs), and no garbage collection frees the ones under ``repositories/``.

Sizes are apparent sizes (``st_size``), as ``du -sb`` counts them and as the statistics sample
measures the registry's data root, so that the blobs, the uploads and this add up to that figure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from registry_files.layout import StorageFiles


@dataclass(frozen=True)
class Metadata:
    """Bytes of the registry's own directories and files (``repositories`` under ``repositories/``,
    ``blob_directories`` the directories holding each blob), and how many entries."""

    repositories: int
    blob_directories: int
    entries: int

    @property
    def bytes(self) -> int:
        return self.repositories + self.blob_directories


def _walk(path: str, skip_data: bool) -> tuple[int, int]:
    """(bytes, entries) of ``path`` and below, leaving out the ``data`` files when ``skip_data`` (a
    blob's content, or under ``_uploads/<uuid>/`` an upload's: counted as blobs and uploads)."""
    total, entries = 0, 0
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            total += os.lstat(current).st_size
            entries += 1
            with os.scandir(current) as found:
                children = list(found)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in children:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif not (skip_data and entry.name == "data"):
                    total += entry.stat(follow_symlinks=False).st_size
                    entries += 1
            except FileNotFoundError:
                continue
    return total, entries


def metadata(files: StorageFiles) -> Metadata:
    """What the registry's own directories and link files occupy: under ``repositories/`` (no GC
    frees it) and around the blobs (the data root's other directories included)."""
    repositories_dir = files.v2 / "repositories"
    repositories, count = _walk(str(repositories_dir), skip_data=True) if repositories_dir.is_dir() else (0, 0)
    # Everything else from the data root down: the directories above and around the blobs.
    rest, rest_count = 0, 0
    for directory in (files.root, files.root / "docker", files.root / "docker" / "registry", files.v2):
        try:
            rest += os.lstat(directory).st_size
            rest_count += 1
            with os.scandir(directory) as found:
                for entry in found:
                    if entry.is_file(follow_symlinks=False):
                        rest += entry.stat(follow_symlinks=False).st_size
                        rest_count += 1
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    blobs_dir = files.v2 / "blobs"
    if blobs_dir.is_dir():
        size, entries = _walk(str(Path(blobs_dir)), skip_data=True)
        rest, rest_count = rest + size, rest_count + entries
    return Metadata(repositories, rest, count + rest_count)

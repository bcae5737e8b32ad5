"""Reading Distribution's filesystem storage (``docker/registry/v2/``), read-only.

The layout, unchanged since Distribution 2.0 (REGISTRY-FACTS.md, "storage layout"):

- ``repositories/<name>/_manifests/tags/<tag>/current/link``: the tag's digest, as text;
- ``repositories/<name>/_manifests/revisions/sha256/<hex>/link``: every manifest pushed there;
- ``repositories/<name>/_layers/sha256/<hex>/link``: the blobs the repository may serve;
- ``repositories/<name>/_uploads/<uuid>/``: uploads in progress or abandoned (``data``, ``startedat``);
- ``blobs/sha256/<first two hex>/<hex>/data``: every blob, manifests and configs included.

The dashboard mounts that directory read-only (``REGISTRY_DATA_DIR``); this module only ever
opens files with ``O_RDONLY`` (``_read``, and ``tag_links`` for the tag links), lists directories
and ``stat``s, and has no function that writes. It imports no app.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
V2 = Path("docker") / "registry" / "v2"
_HEX = re.compile(r"^[0-9a-f]{64}$")
#: Manifests larger than this are not read (a registry refuses manifests over 4 MiB anyway).
MANIFEST_MAX_BYTES = 4 * 1024 * 1024
#: The first read of a file: a manifest, a config or a link fits in it.
FIRST_READ = 64 * 1024
#: Where a repository links the manifests it serves by digest and the blobs it may serve.
LINKS = {"revisions": "_manifests/revisions/sha256", "layers": "_layers/sha256"}


class RegistryFilesError(Exception):
    """The data directory cannot be read as a registry's storage; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BlobMissing(RegistryFilesError):
    """No ``blobs/sha256/<xx>/<hex>/data`` for that digest."""


#: Threads walking ``repositories/`` (``all_tag_links``). Measured at 10,000 repositories and
#: 15,000 tags on a 2-CPU machine whose system calls are slow (benchmarks/README.md, storage-24e):
#: a sync with nothing changed took 4.5 s with the page cache emptied and 2.7 s warm with 4
#: threads, 6.9 and 2.9 s with 1, 4.9 and 1.8 s with 2; 16 threads took 8.4 and 4.9 s (each
#: thread's system calls give up the GIL, and taking it back costs more than the disk gains).
WALK_THREADS = 4
WALK_CHUNK = 32
#: A link modified less than this before it was read may be written again within the same
#: modification time (the file system's clock ticks in milliseconds): its stat is not trusted to
#: vouch for its content later ("racy git", git's ``racy-git.txt``).
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class LinkStat:
    """What identifies a link file's version without reading it: a registry rewrites a tag's
    ``current/link`` in place (same inode, same size for a sha256 digest) but with a new
    modification time."""

    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, found: os.stat_result) -> LinkStat:
        return cls(found.st_ino, found.st_size, found.st_mtime_ns)

    @property
    def modified(self) -> dt.datetime:
        """The modification time to the microsecond, exactly (no float on the way)."""
        return EPOCH + dt.timedelta(microseconds=self.mtime_ns // 1000)


@dataclass(frozen=True)
class TagLink:
    repository: str
    tag: str
    digest: str
    #: When the link was last written: the push that set the tag to this digest.
    modified: dt.datetime
    #: The link file's identity when read (None when unknown); not part of a link's equality.
    stat: LinkStat | None = field(default=None, compare=False)
    #: When it was read (ns since the epoch, 0 when unknown): ``trustworthy`` compares it with the
    #: modification time.
    seen_ns: int = field(default=0, compare=False)

    @property
    def trustworthy(self) -> bool:
        """Whether a later stat equal to ``stat`` proves the link still holds ``digest``: it had
        not been modified within RACY_NS of being read."""
        return self.stat is not None and self.stat.mtime_ns < self.seen_ns - RACY_NS


@dataclass(frozen=True)
class Upload:
    """An upload under ``_uploads``: finished uploads are moved away, so this one is in progress or abandoned."""

    repository: str
    uuid: str
    size: int
    started: dt.datetime | None
    modified: dt.datetime

    def age_seconds(self, now: dt.datetime) -> float:
        return (now - (self.started or self.modified)).total_seconds()


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _read(path: Path | str, limit: int = MANIFEST_MAX_BYTES) -> bytes:
    """A file's content (at most ``limit`` bytes), opened read-only: the one way this module reads.

    A manifest or a config fits the first read of 64 KiB, and a read of a regular file that
    returns less than it asked has reached the end: two system calls besides the open and the
    close (a first read of ``limit`` allocated 1 MiB per blob and a last read found the end).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        chunks: list[bytes] = []
        left = limit
        while left > 0:
            want = min(left, FIRST_READ if not chunks else 1 << 20)
            chunk = os.read(fd, want)
            chunks.append(chunk)
            left -= len(chunk)
            if len(chunk) < want:
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def _repository_name(name: str) -> str:
    """``name``, refused when it would leave ``repositories/``."""
    if name.startswith("/") or ".." in name.split("/"):
        raise RegistryFilesError(f"{name!r} is not a repository name.")
    return name


def _digest_of_link(raw: bytes) -> str | None:
    text = raw.decode("ascii", "replace").strip()
    algorithm, _, hexpart = text.partition(":")
    return text if algorithm == "sha256" and _HEX.match(hexpart) else None


def _read_link(path: str, repository: str, tag: str) -> TagLink | None:
    """A tag link read (one open: its content and its stat from the same file descriptor); None when
    it is missing or holds no sha256 digest."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        seen_ns = time.time_ns()
        raw = os.read(fd, 200)
        found = os.fstat(fd)
    finally:
        os.close(fd)
    digest = _digest_of_link(raw)
    if not digest:
        return None
    stat = LinkStat.of(found)
    return TagLink(repository, tag, digest, stat.modified, stat, seen_ns)


def _listing(path: str, name: str) -> tuple[str, str, list[os.DirEntry[str]]]:
    return path, name, _subdirs(path)


def _subdirs(path: Path | str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as found:
            return [entry for entry in found if entry.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return []


class StorageFiles:
    """One registry's data directory (the one holding ``docker/registry/v2``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.v2 = self.root / V2
        # Plain strings for the paths built per manifest and per blob: at 15,000 manifests, pathlib
        # took more time than the reads (benchmarks/README.md, storage-24e).
        self._blobs_dir = os.path.join(self.v2, "blobs", "sha256")
        self._repositories_dir = os.path.join(self.v2, "repositories")

    # --- Is it there? ---------------------------------------------------------------------

    def check(self) -> None:
        """RegistryFilesError unless the directory can be listed and looks like a registry's storage."""
        try:
            os.listdir(self.root)
        except FileNotFoundError:
            raise RegistryFilesError(f"{self.root} does not exist.") from None
        except PermissionError:
            raise RegistryFilesError(f"{self.root} cannot be read (permission denied).") from None
        except OSError as e:
            raise RegistryFilesError(f"{self.root} cannot be read ({e.strerror}).") from None
        if not (self.v2 / "blobs").is_dir() and not (self.v2 / "repositories").is_dir():
            raise RegistryFilesError(
                f"{self.root} holds no {V2}/blobs or {V2}/repositories: mount the registry's data directory "
                "(the one mounted at /var/lib/registry in its container), or nothing was pushed yet."
            )
        try:
            os.listdir(self.v2 / "repositories") if (self.v2 / "repositories").is_dir() else None
        except PermissionError:
            raise RegistryFilesError(f"{self.v2 / 'repositories'} cannot be read (permission denied).") from None

    # --- Repositories and tags -------------------------------------------------------------

    def repositories(self) -> list[str]:
        """Every repository name, sorted: a directory holding ``_manifests`` (as the catalog walks)."""
        found: list[str] = []

        def walk(path: str, prefix: str) -> None:
            for entry in _subdirs(path):
                if entry.name == "_manifests":
                    found.append(prefix.rstrip("/"))
                elif not entry.name.startswith("_"):
                    walk(entry.path, f"{prefix}{entry.name}/")

        walk(str(self.v2 / "repositories"), "")
        return sorted(name for name in found if name)

    def all_tag_links(
        self,
        known: Mapping[tuple[str, str], TagLink] | None = None,
        found_links: Callable[[str, list[TagLink]], None] | None = None,
    ) -> dict[str, list[TagLink]]:
        """Every repository holding a ``_manifests/tags`` directory, with its tag links (``tag_links``),
        by name, from one walk of ``repositories/`` in WALK_THREADS threads. ``found_links`` is
        told of each repository's links as the walk finds them, in the calling thread (the
        inventory reads their manifests while the walk goes on).

        ``known``: the links as an earlier walk found them, by (repository, tag). A link whose
        ``stat`` equals its known one, known as ``trustworthy``, is not read again: the registry
        rewrites a link in place with a new modification time, so an equal inode, size and
        modification time mean an equal content (a tag moved back to an older digest rewrites its
        link too). Reading a link costs a read of its data block besides its inode: with the page
        cache emptied, 15,000 links read took 6.3-10 s, stat'ed 4.2-5.9 s (one thread).

        Repository directories are never skipped by their modification time: moving a tag changes
        no directory's (``test_a_tag_moved_back_is_caught_though_no_directory_of_its_repository_changed``).
        """
        found: dict[str, list[TagLink]] = {}

        def visit(directories: list[tuple[str, str]]) -> tuple[list[tuple[str, list[TagLink]]], list[tuple[str, str]]]:
            """A chunk of directories: the tag links of the repositories among them, and their subdirectories."""
            links, below = [], []
            for path, name in directories:
                for entry in _subdirs(path):
                    if entry.name == "_manifests":
                        read = self._tag_links_at(entry.path, name, known)
                        if read is not None:
                            links.append((name, read))
                    elif not entry.name.startswith("_"):
                        below.append((entry.path, f"{name}/{entry.name}" if name else entry.name))
            return links, below

        # Chunks of WALK_CHUNK directories per task: a task per directory spent more time in the
        # pool than on the disk with a warm page cache.
        with ThreadPoolExecutor(WALK_THREADS, thread_name_prefix="registry-files") as pool:
            pending = {pool.submit(visit, [(str(self.v2 / "repositories"), "")])}
            while pending:
                done, pending = wait(pending, return_when="FIRST_COMPLETED")
                for future in done:
                    links, below = future.result()
                    found.update(links)
                    if found_links is not None:
                        for name, read in links:
                            found_links(name, read)
                    for start in range(0, len(below), WALK_CHUNK):
                        pending.add(pool.submit(visit, below[start : start + WALK_CHUNK]))
        return dict(sorted(found.items()))

    def _repo(self, name: str) -> Path:
        return self.v2 / "repositories" / _repository_name(name)

    def tags(self, repository: str) -> list[TagLink]:
        """The repository's tags with the digest each points at, sorted by name; unreadable links left out."""
        return self.tag_links(repository) or []

    def tag_links(self, repository: str) -> list[TagLink] | None:
        """``tags``, or None when the repository has no ``_manifests/tags`` directory (its tag list
        answers 404 over HTTP).

        Plain strings and one open per link (its content and modification time from the same file
        descriptor): at 15,000 tags, pathlib and a second ``stat`` per link cost seconds.
        """
        return self._tag_links_at(os.path.join(self._repo(repository), "_manifests"), repository)

    def tag_link(self, repository: str, tag: str) -> TagLink | None:
        """One tag's link, read; None when the tag has none (or no sha256 digest in it)."""
        if "/" in tag or tag in ("", ".", ".."):
            return None
        return _read_link(
            os.path.join(self._repo(repository), "_manifests", "tags", tag, "current", "link"), repository, tag
        )

    def _tag_links_at(
        self, manifests: str, repository: str, known: Mapping[tuple[str, str], TagLink] | None = None
    ) -> list[TagLink] | None:
        base = os.path.join(manifests, "tags")
        try:
            with os.scandir(base) as found:
                entries = [(entry.name, entry.path) for entry in found if entry.is_dir(follow_symlinks=False)]
        except (FileNotFoundError, NotADirectoryError):
            return None
        links = []
        for name, path in entries:
            link = os.path.join(path, "current", "link")
            before = known.get((repository, name)) if known else None
            if before is not None and before.trustworthy:
                try:
                    now = LinkStat.of(os.stat(link))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if now == before.stat:
                    links.append(before)
                    continue
            read = _read_link(link, repository, name)
            if read is not None:
                links.append(read)
        return sorted(links, key=lambda link: link.tag)

    def revisions(self, repository: str) -> list[str]:
        """Every manifest digest pushed to the repository (tagged or not), sorted."""
        return self._links(self._repo(repository) / LINKS["revisions"])

    def layers(self, repository: str) -> list[str]:
        """The blob digests linked into the repository (what it may serve), sorted."""
        return self._links(self._repo(repository) / LINKS["layers"])

    def _links(self, base: Path) -> list[str]:
        found = []
        for entry in _subdirs(base):
            if not _HEX.match(entry.name):
                continue
            try:
                digest = _digest_of_link(_read(Path(entry.path) / "link", 200))
            except (FileNotFoundError, NotADirectoryError):
                continue
            if digest:
                found.append(digest)
        return sorted(found)

    def uploads(self, repository: str) -> list[Upload]:
        """The repository's ``_uploads`` entries with their size on disk and start time."""
        found = []
        for entry in _subdirs(self._repo(repository) / "_uploads"):
            path = Path(entry.path)
            try:
                data = (path / "data").stat()
                size, modified = data.st_size, data.st_mtime
            except FileNotFoundError:
                size, modified = 0, entry.stat(follow_symlinks=False).st_mtime
            started = None
            try:
                text = _read(path / "startedat", 100).decode("ascii", "replace").strip()
                started = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00")))
            except (FileNotFoundError, ValueError):
                pass
            found.append(Upload(repository, entry.name, size, started, _when(modified)))
        return found

    # --- Blobs -------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        return Path(self._blob_file(digest))

    def _blob_file(self, digest: str) -> str:
        algorithm, _, hexpart = digest.partition(":")
        if algorithm != "sha256" or not _HEX.match(hexpart):
            raise RegistryFilesError(f"{digest!r} is not a sha256 digest.")
        return f"{self._blobs_dir}/{hexpart[:2]}/{hexpart}/data"

    def read_blob(self, digest: str, limit: int = MANIFEST_MAX_BYTES) -> bytes:
        """A (small) blob's content: a manifest or a config. BlobMissing when it is not there."""
        try:
            return _read(self._blob_file(digest), limit)
        except (FileNotFoundError, NotADirectoryError):
            raise BlobMissing(f"Blob {digest} is not in {self.v2 / 'blobs'}.") from None

    def links(self, repository: str, kind: str, digest: str) -> bool:
        """Whether the repository links the digest: as a manifest (``kind`` "revisions": the
        registry serves it by digest) or as a blob (``kind`` "layers"); ``revisions`` and
        ``layers`` list them."""
        return os.path.exists(
            f"{self._repositories_dir}/{_repository_name(repository)}/{LINKS[kind]}/{digest[7:]}/link"
        )

    def blob_size(self, digest: str) -> int | None:
        """The bytes the blob's data file holds; None when it is missing."""
        try:
            return self.blob_path(digest).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def blobs(self) -> Iterator[tuple[str, int]]:
        """Every blob on disk with its size: ``(sha256:<hex>, bytes)``."""
        for prefix in _subdirs(self.v2 / "blobs" / "sha256"):
            for entry in _subdirs(Path(prefix.path)):
                if not _HEX.match(entry.name):
                    continue
                try:
                    size = (Path(entry.path) / "data").stat().st_size
                except FileNotFoundError:
                    continue
                yield f"sha256:{entry.name}", size

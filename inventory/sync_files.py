"""The reconcile from the registry's storage files (``REGISTRY_DATA_DIR``): no registry request
when nothing changed.

Repositories and tags come from the tag links (``_manifests/tags/<tag>/current/link``), manifests
and configs from the blob files, parsed by the same ``inventory.content`` functions as over HTTP
(``inventory.files.ManifestFiles`` answers its questions). A tag's push time is its link's
modification time unless an event said better. What the files show is checked against the
registry's HTTP answer on a small sample whenever it changed something (and on the first sync
from files): a mismatch is reported and the reconcile runs over HTTP instead, so a surprise in
the layout (another directory mounted, a copy, a driver we did not expect) is caught, not trusted.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.collection import collector_paused
from core.worker import QueueUnavailable, send
from inventory import bulk, content, sync, task_names
from inventory.files import ManifestFiles, Source, mark_measuring, source, upload_purging
from inventory.models import StorageFilesReport, SyncState, Tag, TagLinkSeen
from inventory.types import SyncResult
from registry_client.client import RegistryClient, RegistryError, RegistryNotFound, get_client
from registry_files.gc import UploadPurging, space
from registry_files.layout import LinkStat, StorageFiles, TagLink
from registry_files.metadata import metadata

logger = logging.getLogger(__name__)

#: Tags checked over HTTP when the files changed something (and on the first sync from files).
CHECK_SAMPLE = 5
#: The space figures (a walk of every blob and manifest) are measured again after a sync that
#: changed something, or when older than this; a sync with nothing changed stays cheap.
SPACE_MAX_AGE = dt.timedelta(hours=1)
CONFIRM_AGE = dt.timedelta(hours=1)
#: Threads reading manifests and configs from the files beside the database writes, and how many
#: manifests each batch writes (one transaction).
READ_THREADS = 4
READ_CHUNK = 25
STORE_BATCH = 1000
#: Reading tasks done or under way that the writing thread has not taken yet, at most.
AHEAD = 2 * STORE_BATCH // READ_CHUNK


class FilesSyncResult(SyncResult, total=False):
    """A sync job's result with where it read the registry: ``source`` (files or http), why, and
    what became of the space figures: ``space`` is ``queued`` (a job of their own, after the sync)
    or ``measured`` (here, when Redis did not take that job: ``space_seconds`` then says how long)."""

    source: str
    source_reason: str
    space: str
    space_seconds: float


class FilesDisagree(Exception):
    """The files and the registry's HTTP answer differ on a sampled tag."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reconcile(
    log: Callable[[str], None] = logger.info, driver: str | None = None, client: RegistryClient | None = None
) -> FilesSyncResult:
    """Reconcile from the files when they can be read and agree with the registry, else over HTTP;
    the job's result, with ``source`` (files or http) and ``source_reason``."""
    found = source(driver)
    files = found.files
    if files is not None:
        try:
            figures = reconcile_from_files(files, log, client)
            result = FilesSyncResult(**figures.as_dict())
            changed = figures.added_tags or figures.moved_tags or figures.removed_tags or figures.removed_repositories
            report = StorageFilesReport.objects.filter(pk=1).first()
            if changed or report is None or report.measured_at < timezone.now() - SPACE_MAX_AGE:
                # Not part of knowing the inventory: a task of their own once the inventory is written
                # (a stat of every directory and blob: 144 s of a 186 s first sync at 10,000
                # repositories with a cold page cache).
                result["space"] = "queued" if queue_space(log) else "measured"
                if result["space"] == "measured":
                    result["space_seconds"] = round(measure_space(files, log).seconds, 3)
            return _record(result, found)
        except FilesDisagree as e:
            found = Source(None, f"The storage files disagree with the registry: {e.message} Read over HTTP instead.")
            log(f"WARNING: {found.reason}")
    else:
        log(found.reason)
    return _record(FilesSyncResult(**sync.reconcile(log=log, client=client).as_dict()), found)


def queue_space(log: Callable[[str], None] = logger.info) -> bool:
    """Ask a worker to measure the space figures (``inventory.tasks.measure_storage``) and mark them
    as being measured; False when Redis does not take the task (the caller measures them itself)."""
    mark_measuring()
    try:
        send(task_names.MEASURE_STORAGE)
    except QueueUnavailable as e:
        mark_measuring(False)
        log(f"The space figures are measured now, in the sync: {e}")
        return False
    log("The space figures from the storage files are measured next, by a task of their own.")
    return True


def measure_space(files: StorageFiles, log: Callable[[str], None] = logger.info) -> StorageFilesReport:
    """Read the space figures from the files (``registry_files.gc.space``, and the registry's own
    directories and links: ``registry_files.metadata``) into the one report row."""
    try:
        return save_space(files, *read_space(files, upload_purging()), log)
    finally:
        mark_measuring(False)


def read_space(files: StorageFiles, purging: UploadPurging) -> tuple[datetime, dict[str, Any], float]:
    """The space figures from the files alone (no database: it may run in a thread): (when, figures, seconds)."""
    began = time.monotonic()
    now = timezone.now()
    figures = space(files, now, purging=purging)
    own = metadata(files)
    figures["metadata"] = {
        "bytes": own.bytes,
        "repositories_bytes": own.repositories,
        "blob_directories_bytes": own.blob_directories,
        "entries": own.entries,
    }
    return now, figures, time.monotonic() - began


def save_space(
    files: StorageFiles, now: datetime, figures: dict[str, Any], seconds: float, log: Callable[[str], None]
) -> StorageFilesReport:
    """The space figures into the one report row, and a line in the job's log."""
    report, _ = StorageFilesReport.objects.update_or_create(
        pk=1, defaults={"measured_at": now, "data_dir": str(files.root), "seconds": seconds, "figures": figures}
    )
    log(
        f"Space from the storage files in {seconds:.1f} s: {figures['bytes']:,} bytes in {figures['blobs']:,} blobs; "
        f"a GC would free {figures['gc']['bytes_eligible']:,} bytes ({figures['gc']['blobs_eligible']} blobs); "
        f"{figures['untagged_manifests']} untagged manifests; {figures['upload_count']} upload leftovers."
    )
    return report


def _record(result: FilesSyncResult, found: Source) -> FilesSyncResult:
    result["source"] = found.name
    result["source_reason"] = found.reason
    SyncState.objects.filter(pk=1).update(last_result=result)
    return result


def _seen_links() -> dict[tuple[str, str], tuple[int, TagLink]]:
    """The tag links as the last sync recorded them (``TagLinkSeen``): (row id, link) by (repository, tag)."""
    seen: dict[tuple[str, str], tuple[int, TagLink]] = {}
    for pk, repo, tag, digest, inode, size, mtime_ns, seen_ns in TagLinkSeen.objects.values_list(
        "pk", "repository", "tag", "digest", "inode", "size", "mtime_ns", "seen_ns"
    ):
        stat = LinkStat(inode, size, mtime_ns)
        seen[repo, tag] = (pk, TagLink(repo, tag, digest, stat.modified, stat, seen_ns))
    return seen


def _record_links(seen: dict[tuple[str, str], tuple[int, TagLink]], links: dict[str, list[TagLink]]) -> None:
    """Record the links read (not merely stat'ed) and forget those gone: one DELETE per 500 stale
    rows and one prepared INSERT, nothing when every link was known."""
    fresh = [
        link
        for found in links.values()
        for link in found
        if link.stat is not None and seen.get((link.repository, link.tag), (0, None))[1] is not link
    ]
    present = {(link.repository, link.tag) for found in links.values() for link in found}
    stale = [pk for key, (pk, _) in seen.items() if key not in present]
    stale += [seen[(link.repository, link.tag)][0] for link in fresh if (link.repository, link.tag) in seen]
    if not fresh and not stale:
        return
    with transaction.atomic():
        for start in range(0, len(stale), 500):
            TagLinkSeen.objects.filter(pk__in=stale[start : start + 500]).delete()
        bulk.insert(
            TagLinkSeen,
            ("repository", "tag", "digest", "inode", "size", "mtime_ns", "seen_ns"),
            (
                (
                    link.repository,
                    link.tag,
                    link.digest,
                    link.stat.inode,
                    link.stat.size,
                    link.stat.mtime_ns,
                    link.seen_ns,
                )
                for link in fresh
                if link.stat is not None
            ),
            ignore_conflicts=True,
        )


@collector_paused()
def reconcile_from_files(
    files: StorageFiles, log: Callable[[str], None] = logger.info, client: RegistryClient | None = None
) -> sync.Figures:
    figures = sync.Figures()
    figures.requests = {"catalog": 0, "tag_lists": 0, "head": 0, "get": 0, "files_check": 0}
    began = time.monotonic()
    started_at = timezone.now()
    first_from_files = (SyncState.objects.filter(pk=1).values_list("last_result", flat=True).first() or {}).get(
        "source"
    ) != "files"
    SyncState.objects.update_or_create(pk=1, defaults={"last_started": started_at})

    # The walk runs in a thread of its own, and the manifests of the links it finds are read (in
    # READ_THREADS more) and written here while it goes on: with the page cache emptied, the walk
    # alone took 5-8 s of a first sync at 10,000 repositories.
    seen = _seen_links()
    held = content.Stored.load()
    stored_before = len(held.manifests)
    reading = _Reading(ManifestFiles(files), held.manifests)
    reading.walk(files, {key: link for key, (_, link) in seen.items()})
    try:
        for batch in reading.batches():
            with transaction.atomic():  # one commit per batch: SQLite's commits are the slow part
                figures.fetched_manifests += content.store_many(batch, held)
    finally:
        reading.close()
    links = reading.links
    _record_links(seen, links)
    lists = {name: [link.tag for link in found] for name, found in links.items()}
    figures.repositories = len(lists)
    figures.tags = sum(len(tags) for tags in lists.values())
    resolved = {(link.repository, link.tag): link.digest for found in links.values() for link in found}
    pushed = {(link.repository, link.tag): link.modified for found in links.values() for link in found}
    log(
        f"The storage files list {figures.repositories} repositories and {figures.tags} tags; "
        f"{len(reading.claimed) - stored_before:,} manifests new to the inventory were read and stored as they "
        "were found "
        f"({time.monotonic() - began:.1f} s)."
    )

    known: dict[tuple[str, str], tuple[str, datetime | None]] = {
        (repo, name): (digest, checked)
        for repo, name, digest, checked in Tag.objects.values_list("repository__name", "name", "digest", "checked_at")
    }
    changed = [key for key, digest in resolved.items() if key not in known or known[key][0] != digest]
    gone = [key for key in known if key not in resolved]
    if changed or gone or first_from_files:
        _check_sample(files, changed or list(resolved), client, figures)

    repositories = sync._add_repositories(lists, figures)
    # The new tags, in one batch now that their manifests and repositories are written.
    new_tags = [(repo, tag, digest) for (repo, tag), digest in resolved.items() if (repo, tag) not in known]
    written: set[tuple[str, str]] = set()
    sync._store([], figures, new_tags, repositories, written, held, pushed)
    resolved = {key: digest for key, digest in resolved.items() if digest in reading.claimed}
    # The files confirm every known tag; its checked_at is written again only when it is older than
    # CONFIRM_AGE: rewriting 15,000 rows on each sync with nothing changed costs seconds.
    confirm_before = timezone.now() - CONFIRM_AGE
    checked = {key for key in resolved if key in known and (known[key][1] or confirm_before) <= confirm_before}
    dropped = sync._apply(lists, resolved, known, checked, written, started_at, figures, refresh=False, stored=held)
    # The repositories' sizes and last pushes, only when something changed (events refresh what
    # they change themselves): a walk of every tag's blobs took 15 s of the unchanged sync at 10,000
    # repositories. After the push times, so that they count in this sync already.
    if (
        # The tags _store wrote have their push times already (all of them in a first sync).
        _push_times({key: when for key, when in pushed.items() if key not in written})
        or dropped
        or figures.added_tags
        or figures.moved_tags
        or figures.removed_tags
        or figures.added_repositories
        or figures.removed_repositories
    ):
        sync.refresh_repositories(None if len(lists) > 500 else list(lists))
    figures.removed_manifests = sync.prune_manifests()
    figures.seconds = time.monotonic() - began
    figures.requests["total"] = figures.requests["files_check"]
    SyncState.objects.filter(pk=1).update(last_finished=timezone.now(), last_result=figures.as_dict())
    log(
        f"Done from the storage files in {figures.seconds:.1f} s: {figures.added_tags} tags added, "
        f"{figures.moved_tags} moved, {figures.removed_tags} removed; {figures.fetched_manifests} manifests read; "
        f"{figures.requests['files_check']} registry requests (the sample check)."
    )
    return figures


class _Reading:
    """The manifests (and configs) of the tag links the walk finds, read while it goes on.

    ``walk`` starts the walk in a thread of its own; each repository it finds hands its new
    digests to READ_THREADS reading threads, READ_CHUNK per task; ``batches`` gives what they read
    to the caller's thread, STORE_BATCH at a time, to write. At most AHEAD tasks are read and not
    yet taken: the walk waits for room (all 15,000 manifests held at once made the worker's peak
    RSS 360 MB). The walk's scheduling never waits on the writing thread (it did in an earlier
    attempt, which stalled the walk).
    """

    def __init__(self, reader: ManifestFiles, stored: Iterable[str]) -> None:
        self.reader = reader
        #: Digests stored before, or read here: a digest is read once, by the first repository found with it.
        self.claimed = set(stored)
        self.links: dict[str, list[TagLink]] = {}
        self._chunk: list[tuple[str, str]] = []
        self._room = threading.Semaphore(AHEAD)
        self._done: queue.SimpleQueue[Future[list[content.Content]] | None] = queue.SimpleQueue()
        self._submitted = 0
        self._closing = False
        self._error: BaseException | None = None
        self._pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="inventory-files")

    def walk(self, files: StorageFiles, known: dict[tuple[str, str], TagLink]) -> None:
        def run() -> None:
            try:
                self.links = files.all_tag_links(known, self._found)
                self._submit()
            except BaseException as e:
                self._error = e
            finally:
                self._done.put(None)  # the walk is over: nothing more is submitted

        threading.Thread(target=run, name="inventory-files-walk", daemon=True).start()

    def _found(self, repository: str, links: list[TagLink]) -> None:
        """In the walk's thread: the repository's digests no other one claimed are read."""
        for link in links:
            if link.digest not in self.claimed:
                self.claimed.add(link.digest)
                self._chunk.append((link.digest, repository))
                if len(self._chunk) >= READ_CHUNK:
                    self._submit()

    def _submit(self) -> None:
        if not self._chunk:
            return
        chunk, self._chunk = self._chunk, []
        self._room.acquire()
        if self._closing:
            raise RuntimeError("The sync stopped: no more manifests are read.")
        self._submitted += 1
        self._pool.submit(self._read, chunk).add_done_callback(self._done.put)

    def _read(self, chunk: list[tuple[str, str]]) -> list[content.Content]:
        # fetch asks ``known`` about an index's children only (no copy of the set per manifest).
        found = (content.fetch(self.reader, repo, digest, known=self.claimed) for digest, repo in chunk)
        return [item for item in found if item is not None]

    def batches(self) -> Iterator[list[content.Content]]:
        """What the reading threads read, STORE_BATCH manifests at a time, until the walk is over
        and all is read; the walk's error, or a read's, is raised here."""
        batch: list[content.Content] = []
        taken, walking = 0, True
        while walking or taken < self._submitted:
            done = self._done.get()
            if done is None:
                walking = False
                continue
            taken += 1
            self._room.release()
            batch.extend(done.result())
            if len(batch) >= STORE_BATCH:
                yield batch
                batch = []
        if self._error is not None:
            raise self._error
        if batch:
            yield batch

    def close(self) -> None:
        """Stop reading (the caller stopped taking, or is done): the walk stops at its next chunk."""
        self._closing = True
        for _ in range(AHEAD):
            self._room.release()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _check_sample(
    files: StorageFiles, candidates: list[tuple[str, str]], client: RegistryClient | None, figures: sync.Figures
) -> None:
    """HEAD a few tags over HTTP; FilesDisagree when the registry names another digest (read the
    link again first: a push between the two reads is not a disagreement)."""
    client = client or get_client()
    sample = random.sample(candidates, min(CHECK_SAMPLE, len(candidates)))
    for repo, tag in sample:
        before = client.request_count
        try:
            answer = client.head_manifest(repo, tag).digest
        except RegistryNotFound:
            answer = ""
        except RegistryError as e:
            raise FilesDisagree(f"the registry could not be asked about {repo}:{tag} ({e}).") from e
        finally:
            figures.requests["files_check"] += client.request_count - before
        link = files.tag_link(repo, tag)  # read again: the tag may have moved since the walk
        found = link.digest if link is not None else ""
        if found != answer:
            raise FilesDisagree(
                f"{repo}:{tag} is {found or 'absent'} in the files and {answer or 'absent'} over HTTP "
                f"(REGISTRY_DATA_DIR={files.root}: is it the registry's own data directory?)."
            )


def _push_times(pushed: dict[tuple[str, str], datetime]) -> int:
    """Tags no event stamped get their link's modification time as push time (one prepared UPDATE);
    the number of tags changed."""
    if not pushed:
        return 0
    rows = []
    for pk, repo, name, pushed_at in Tag.objects.filter(event_at__isnull=True).values_list(
        "pk", "repository__name", "name", "pushed_at"
    ):
        when = pushed.get((repo, name))
        if when is not None and when != pushed_at:
            rows.append((when, pk))
    if rows:  # one prepared UPDATE (bulk.update)
        with transaction.atomic():
            bulk.update(Tag, ("pushed_at",), rows)
    return len(rows)

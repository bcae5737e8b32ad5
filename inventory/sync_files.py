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
import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.worker import QueueUnavailable, send
from inventory import attachments, bulk, content, sync, task_names
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


def read_links(files: StorageFiles) -> dict[str, list[TagLink]]:
    """Every repository with its tag links; a repository without a tags directory is left out (its
    tag list answers 404 over HTTP). A link whose stat is the one the last sync recorded
    (``TagLinkSeen``) is stat'ed, not read; what changed is recorded for the next sync."""
    seen: dict[tuple[str, str], tuple[int, TagLink]] = {}
    for pk, repo, tag, digest, inode, size, mtime_ns, seen_ns in TagLinkSeen.objects.values_list(
        "pk", "repository", "tag", "digest", "inode", "size", "mtime_ns", "seen_ns"
    ):
        stat = LinkStat(inode, size, mtime_ns)
        seen[repo, tag] = (pk, TagLink(repo, tag, digest, stat.modified, stat, seen_ns))
    links = files.all_tag_links({key: link for key, (_, link) in seen.items()})
    _record_links(seen, links)
    return links


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

    links = read_links(files)
    lists = {name: [link.tag for link in found] for name, found in links.items()}
    figures.repositories = len(lists)
    figures.tags = sum(len(tags) for tags in lists.values())
    resolved = {(link.repository, link.tag): link.digest for found in links.values() for link in found}
    pushed = {(link.repository, link.tag): link.modified for found in links.values() for link in found}
    log(
        f"The storage files list {figures.repositories} repositories and {figures.tags} tags "
        f"(tag links read in {time.monotonic() - began:.1f} s)."
    )

    known: dict[tuple[str, str], tuple[str, datetime | None]] = {
        (repo, name): (digest, checked)
        for repo, name, digest, checked in Tag.objects.values_list("repository__name", "name", "digest", "checked_at")
    }
    changed = [key for key, digest in resolved.items() if key not in known or known[key][0] != digest]
    gone = [key for key in known if key not in resolved]
    if changed or gone or first_from_files:
        _check_sample(files, changed or list(resolved), client, figures)

    held = content.Stored.load()
    stored = set(held.manifests)
    reader = ManifestFiles(files)
    wanted: dict[str, str] = {}
    for (repo, _), digest in resolved.items():
        if digest not in stored:
            wanted.setdefault(digest, repo)
    claimed = set(stored) | set(wanted)

    def read(item: tuple[str, str]) -> content.Content | None:
        digest, repo = item
        return content.fetch(reader, repo, digest, known=claimed - {digest})

    repositories = sync._add_repositories(lists, figures)
    # The new tags by digest: each batch writes the tags of the manifests it stored (an IN over
    # every new tag's digest at each batch made 675,000 query parameters at 10,000 repositories).
    new_tags: dict[str, list[tuple[str, str, str]]] = {}
    for (repo, tag), digest in resolved.items():
        if (repo, tag) not in known:
            new_tags.setdefault(digest, []).append((repo, tag, digest))
    written: set[tuple[str, str]] = set()

    def store(batch: list[content.Content], digests: Iterable[str]) -> None:
        tags = [entry for digest in digests for entry in new_tags.pop(digest, [])]
        sync._store(batch, figures, tags, repositories, written, held)

    store([], [digest for digest in list(new_tags) if digest in stored])  # tags of manifests stored before
    stage = time.monotonic()
    for batch in _read_beside(read, list(wanted.items())):
        store(batch, [item.digest for item in batch])
    if wanted:
        log(f"{len(wanted):,} manifests read from the files and stored in {time.monotonic() - stage:.1f} s.")
    resolved = {key: digest for key, digest in resolved.items() if digest in stored or digest in wanted}
    # The files confirm every known tag; its checked_at is written again only when it is older than
    # CONFIRM_AGE: rewriting 15,000 rows on each sync with nothing changed costs seconds.
    confirm_before = timezone.now() - CONFIRM_AGE
    checked = {key for key in resolved if key in known and (known[key][1] or confirm_before) <= confirm_before}
    sync._apply(lists, resolved, known, checked, written, started_at, figures, refresh=False, stored=held)
    # The repositories' sizes and last pushes, only when something changed (events refresh what
    # they change themselves): a walk of every tag's blobs took 15 s of the unchanged sync at 10,000
    # repositories. After the push times, so that they count in this sync already.
    if (
        _push_times(pushed)
        or figures.added_tags
        or figures.moved_tags
        or figures.removed_tags
        or figures.added_repositories
        or figures.removed_repositories
    ):
        sync.refresh_repositories(None if len(lists) > 500 else list(lists))
    attachments.drop_detached()
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


def _read_beside(
    read: Callable[[tuple[str, str]], content.Content | None], items: list[tuple[str, str]]
) -> Iterator[list[content.Content]]:
    """The manifests read READ_THREADS at a time (READ_CHUNK per task: a task each cost more in the
    pool than the read), STORE_BATCH per batch: the next batch is read while the caller writes this
    one, and at most two batches are held (all 15,000 at once made the worker's peak RSS 360 MB)."""

    def read_chunk(chunk: list[tuple[str, str]]) -> list[content.Content]:
        return [found for found in map(read, chunk) if found is not None]

    def gather(futures: list[Future[list[content.Content]]]) -> list[content.Content]:
        return [found for future in futures for found in future.result()]

    with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="inventory-files") as pool:
        ahead: list[Future[list[content.Content]]] = []
        for start in range(0, len(items), STORE_BATCH):
            batch = items[start : start + STORE_BATCH]
            submitted = [
                pool.submit(read_chunk, batch[at : at + READ_CHUNK]) for at in range(0, len(batch), READ_CHUNK)
            ]
            if ahead:
                yield gather(ahead)
            ahead = submitted
        if ahead:
            yield gather(ahead)


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

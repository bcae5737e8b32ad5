"""Garbage collection of the registry, as a worker runs it (requested in ``maintenance.gc_requests``).

Why it is more than the installation guide's ``docker exec registry registry garbage-collect``:
- a push during GC can lose its layers (distribution#3045, #2881), so real runs make the
  registry read-only (recreated with the read-only switch) or stop it;
- the running registry's blob-descriptor cache keeps deleted blobs, so a re-push after GC
  says "Layer already exists" and the pull then fails (distribution#1803, #3743, #4269,
  #4569): every real run ends with a restart and, with the Redis cache, deleted keys;
- a registry must never be left read-only or stopped (Harbor #13512, #8946): the container's
  configuration is saved before anything changes, restored in ``finally``, and a watchdog
  restores it when a worker died mid-run;
- with the storage files readable (REGISTRY_DATA_DIR), a real run first does a dry run with the
  same flags and refuses to sweep when it lists a blob a tag still reaches (distribution#4939:
  3.1.1 once swept a blob tagged manifests used); after the sweep every blob a tag reaches is
  checked present, and the job reports it.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import re
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core import audit, masking
from inventory import files as inventory_files
from jobs import lock, runner
from jobs.models import Job
from maintenance import engine, registry_cache, registry_container, snapshot, stats_collector
from maintenance.gc_requests import DELETE_UNTAGGED_ON_V2, GcError, GcParams, GcParamsInvalid, GcResult
from maintenance.models import RegistryMaintenance
from maintenance.registry_container import restore, wait_answering
from registry_files.gc import tag_reach
from registry_files.layout import StorageFiles

logger = logging.getLogger(__name__)

SUMMARY = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion")
ELIGIBLE_BLOB = re.compile(r"blob eligible for deletion: (sha256:[0-9a-f]{64})")
# The mark phase prints one line per manifest and blob a tag reaches: 10,000 repositories make
# megabytes of them, which the job's output (rewritten at each line, sent whole to every page and
# API poll) should not hold. The first MARKING_LINES_KEPT are kept, the rest counted.
MARKING = re.compile(r": marking (?:manifest|blob) ")
MARKING_LINES_KEPT = 200
# It also names every repository it enters, on a line of its own: 10,000 lines, one UPDATE of the
# job's output each. The first REPOSITORY_LINES_KEPT are kept, the rest counted.
REPOSITORY_LINE = re.compile(r"^[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*$")
REPOSITORY_LINES_KEPT = 50
# A dry run that counts untagged manifests (a second mark phase, registry:3) gives up after this
# long with a message: at 10,000 repositories it would double the job's time.
UNTAGGED_COUNT_SECONDS = 120
EMPTY_REGISTRY = re.compile(r"Path not found: \S*/docker/registry/v2/repositories\b")
LOCK_WAIT_SECONDS = 15.0
#: ``RegistryMaintenance.mode`` of an update: the watchdog puts the saved image back too.
UPDATE_MODE = "update"


def run(job_id: int) -> None:
    """The task body: take the lock, run the GC, record the result; never raises."""
    GarbageCollection.handle(job_id)


def refresh_statistics() -> None:
    """After a real run the storage figures on every page are stale: measure them again now."""
    try:
        stats_collector.collect()
    except Exception:  # the next scheduled collection measures them anyway
        logger.exception("could not collect statistics after the garbage collection")


def blob_bytes(container: Any, root: str, digests: list[str]) -> int | None:
    """The bytes the given blobs take in the registry's storage (their ``data`` files, ``blob_sizes``):
    the same computation as what a real run frees. None when none of them could be measured."""
    if not digests:
        return 0
    sizes = blob_sizes(container, root, digests)
    return sum(sizes.values()) if sizes else None


def blob_sizes(container: Any, root: str, digests: list[str]) -> dict[str, int]:
    """The size in bytes of each blob's ``data`` file (``stat`` in the container); a blob not on
    disk is left out. What a real run frees is read from these, measured before it sweeps."""
    sizes: dict[str, int] = {}
    found = re.compile(r"^(\d+) \S*/sha256/[0-9a-f]{2}/([0-9a-f]{64})/data$", flags=re.MULTILINE)
    for start in range(0, len(digests), 200):
        chunk = digests[start : start + 200]
        paths = [f"{root}/{registry_container.BLOBS_UNDER_DATA_ROOT}/sha256/{d[7:9]}/{d[7:]}/data" for d in chunk]
        result = engine.exec_stream(container, ["stat", "-c", "%s %n", *paths])
        for match in found.finditer(result.stdout):
            sizes[f"sha256:{match[2]}"] = int(match[1])
    return sizes


class GarbageCollection(runner.JobRunner[GcResult]):
    """One GC run for one job; ``result`` fills in as it goes (kept when it fails)."""

    kind = Job.Kind.GC
    expected = (GcError, engine.EngineError)

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.params = GcParams()
        self.result: GcResult = {}
        self.name = settings.REGISTRY_CONTAINER
        self.eligible: list[str] = []
        self.config = ""
        self.root = ""
        # Before a real sweep: the size of each blob its dry run lists (``blob_sizes``).
        self.sizes_before: dict[str, int] | None = None

    def execute(self) -> None:
        """The whole run under the GC lock; a real run measures the storage again afterwards."""
        # Wait a little: the watchdog holds the lock for a moment every minute.
        with lock.holding_gc_lock(LOCK_WAIT_SECONDS) as held:
            if not held:
                runner.fail(
                    self.job, "Another garbage collection holds the lock (a previous run is still ending); try later."
                )
                return
            try:
                self.params = GcParams.parse(self.job.params)
            except GcParamsInvalid as e:
                runner.fail(self.job, f"Invalid parameters: {e.errors}")
                return
            super().execute()
        if not self.params.dry_run:
            refresh_statistics()

    def timed_out(self) -> str:
        return f"The garbage collection exceeded its time limit ({settings.GC_TIME_LIMIT}s, GC_TIME_LIMIT)."

    def log(self, line: str) -> None:
        runner.log(self.job, masking.mask_log_line(line))

    def run(self) -> GcResult:
        client = engine.connect()
        try:
            return self._run(client)
        finally:
            client.close()

    def _run(self, client: engine.DockerClient) -> GcResult:
        container = engine.get_container(client, self.name)
        if container is None:
            raise GcError(f"No container named '{self.name}' on the Docker engine: set REGISTRY_CONTAINER.")
        engine.require_running(container)
        version = registry_container.registry_version(container)
        cache.set(snapshot.VERSION_CACHE_KEY, version, timeout=None)
        self.log(f"Registry: {version}")
        if self.params.delete_untagged and snapshot.is_v2(version):
            raise GcError(DELETE_UNTAGGED_ON_V2)
        config = registry_container.config_path(container)
        self.config = config
        root = registry_container.data_root(container, config)
        self.root = root
        mode = "dry-run" if self.params.dry_run else self.params.mode
        self.result.update({"mode": mode, "version": version, "config": config, "data_root": root})
        self.result["bytes_before"] = registry_container.storage_bytes(container, root)
        command = self.params.command(config)
        self.log(f"Mode: {mode}. Running: {' '.join(command)}")

        if self.params.dry_run:
            self._collect(container, command)
            self.result["bytes_eligible"] = blob_bytes(container, root, self.eligible)
            if not self.params.delete_untagged and not snapshot.is_v2(version):
                self._untagged(container, config, root)
            after = container
        elif self.params.mode == "online":
            after = self._online(client, container, command)
        else:
            after = self._with_saved_configuration(client, container, command)

        self.result["bytes_after"] = registry_container.storage_bytes(after, root)
        if self.sizes_before is not None:
            self._count_freed()
        elif self.result["bytes_before"] is not None and self.result["bytes_after"] is not None:
            self.result["bytes_freed"] = max(0, self.result["bytes_before"] - self.result["bytes_after"])
        self.log(
            f"Done: {self.result['blobs_eligible']} blobs and {self.result['manifests_eligible']} manifests "
            f"{'eligible' if self.params.dry_run else 'deleted'}; "
            f"{self.result.get('bytes_freed', 'unknown')} bytes freed."
        )
        return self.result

    def _count_freed(self) -> None:
        """What the sweep freed: the sizes, measured before it, of the blobs it deleted, so the
        figure and the blob count come from the same list (issue 25: "Freed 0 bytes (2 blobs)"
        was the difference of two ``du`` of the whole data root, which also counts directories
        and link files, rounds to blocks where ``du -b`` is missing, and a filesystem that frees
        blocks later, or anything written meanwhile, moves)."""
        sizes = self.sizes_before or {}
        swept = list(dict.fromkeys(self.eligible))
        unmeasured = [digest for digest in swept if digest not in sizes]
        self.result["bytes_freed"] = sum(sizes.get(digest, 0) for digest in swept)
        if unmeasured:
            # Listed by the sweep but not by its dry run a moment before (pushed and dropped meanwhile).
            self.result["blobs_unmeasured"] = len(unmeasured)
            self.log(
                f"{len(unmeasured)} swept blobs were not measured before the sweep: not counted in the bytes freed."
            )

    def _untagged(self, container: Any, config: str, root: str) -> None:
        """registry:3 keeps untagged manifests: say how many there are and what --delete-untagged frees.

        A second dry run, with --delete-untagged, whose lines stay out of the job's output. It goes
        through every repository again, so it is stopped after UNTAGGED_COUNT_SECONDS (busybox's
        ``timeout`` in the container: the process ends there too), and the job says so.
        """
        limit = UNTAGGED_COUNT_SECONDS
        command = ["timeout", str(limit), *GcParams(dry_run=True, delete_untagged=True).command(config)]
        started = time.monotonic()
        found: list[tuple[int, int, int]] = []
        blobs: list[str] = []

        def on_line(stream: str, line: str) -> None:
            if stream != "stdout":
                return
            if match := SUMMARY.search(line):
                found.append((int(match[1]), int(match[2]), int(match[3])))
            elif match := ELIGIBLE_BLOB.search(line):
                blobs.append(match[1])

        outcome = engine.exec_stream(container, command, on_line, keep_stdout=False)
        if outcome.exit_code != 0 or not found:
            if time.monotonic() - started >= limit:
                self.log(
                    f"Untagged manifests: not counted. The dry run with --delete-untagged goes through every "
                    f"repository again and was stopped after {limit} s; run a dry run with 'Delete untagged "
                    "manifests' to see what it would free."
                )
            return
        _, blob_count, manifests = found[-1]
        self.result["untagged"] = {
            "manifests": manifests,
            "blobs": blob_count,
            "bytes": blob_bytes(container, root, blobs),
        }
        self.log(
            f"Untagged manifests: {manifests}; a dry run with --delete-untagged finds {blob_count} blobs eligible."
        )

    def _storage_files(self) -> StorageFiles | None:
        """The registry's storage files when the worker can read them (REGISTRY_DATA_DIR), else None."""
        found = inventory_files.source()
        self.result["storage_files"] = found.as_dict()
        if found.files is None:
            self.log(f"No check against the storage files: {found.reason}")
        return found.files

    def dry_run_eligible(self, container: Any) -> list[str]:
        """The blobs a dry run with this run's flags lists: what the sweep would delete.

        The input of the check before a sweep; the tests replace it to inject the one fault the
        real registry cannot produce on demand (a dry run listing a blob a tag reaches).
        """
        command = GcParams(dry_run=True, delete_untagged=self.params.delete_untagged).command(self.config)
        eligible: list[str] = []
        summary: list[str] = []

        def on_line(stream: str, line: str) -> None:
            if stream != "stdout":
                return
            if match := ELIGIBLE_BLOB.search(line):
                eligible.append(match[1])
            elif SUMMARY.search(line):
                summary.append(line)

        outcome = engine.exec_stream(container, command, on_line, keep_stdout=False)
        if outcome.exit_code != 0 and EMPTY_REGISTRY.search(outcome.stderr):
            return []
        if outcome.exit_code != 0 or not summary:
            why = f"exit {outcome.exit_code}" + ("" if summary else ", no summary line")
            raise GcError(f"The dry run before the sweep failed ({why}): nothing was deleted. See the registry's logs.")
        return eligible

    def _refuse_what_tags_reach(self, eligible: list[str], files: StorageFiles) -> dict[str, set[str]]:
        """Refuse the sweep when its dry run lists a blob a tag reaches; what the tags reach."""
        reach = tag_reach(files)
        overlap = sorted(digest for digest in set(eligible) if digest in reach)
        self.result["check_before_sweep"] = {
            "eligible": len(eligible),
            "reached_by_tags": len(reach),
            "overlap": [{"blob": digest, "tags": sorted(reach[digest])} for digest in overlap],
        }
        if overlap:
            named = "; ".join(
                f"{digest} (reached by {', '.join(sorted(reach[digest])[:5])})" for digest in overlap[:10]
            )
            plural = "s" if len(overlap) != 1 else ""
            raise GcError(
                f"Refused before deleting anything: the dry run lists {len(overlap)} blob{plural} "
                f"that tags still reach, which a sweep would break: {named}. This is the registry's fault "
                "(distribution#4939), not the tags': keep the registry as it is, report it upstream with this "
                "job's output, and run the GC again after an update."
            )
        self.log(
            f"Checked before the sweep: none of the {len(eligible)} blobs its dry run lists is reached by a tag "
            f"({len(reach)} blobs reached, from the storage files)."
        )
        return reach

    def _check_after_sweep(self, files: StorageFiles, missing_before: set[str]) -> None:
        """Every blob a tag reaches is still on disk (a stat each); the job fails naming what is not."""
        reach = tag_reach(files)
        missing = sorted(digest for digest in reach if files.blob_size(digest) is None)
        new = [digest for digest in missing if digest not in missing_before]
        self.result["check_after_sweep"] = {
            "reached_blobs": len(reach),
            "present": len(reach) - len(missing),
            "missing": [{"blob": digest, "tags": sorted(reach[digest])} for digest in missing],
            "missing_before": len(missing_before),
        }
        if new:
            named = "; ".join(f"{digest} (breaks {', '.join(sorted(reach[digest])[:5])})" for digest in new[:10])
            raise GcError(
                f"After the sweep {len(new)} blob{'s' if len(new) != 1 else ''} that tags reach are missing: {named}. "
                "Push those images again (docker push of the same tags restores the blobs)."
            )
        self.log(f"Checked after the sweep: all {len(reach) - len(missing)} blobs the tags reach are present.")

    def _collect(self, container: Any, command: list[str]) -> None:
        """Run the GC command; success needs exit 0 AND the summary line (2.8 exits 0 on bad flags).

        A real run with the storage files readable is checked before (its dry run against what the
        tags reach) and after (every blob a tag reaches still there).
        """
        files = None if self.params.dry_run else self._storage_files()
        missing_before: set[str] = set()
        if not self.params.dry_run:
            # The dry run with the same flags lists what the sweep will delete: measured now,
            # what it frees is read from the same blobs it counts.
            eligible = self.dry_run_eligible(container)
            self.sizes_before = blob_sizes(container, self.root, eligible) if eligible else {}
            if files is not None:
                reach = self._refuse_what_tags_reach(eligible, files)
                missing_before = {digest for digest in reach if files.blob_size(digest) is None}
        self._run_command(container, command)
        if files is not None:
            self._check_after_sweep(files, missing_before)

    def _run_command(self, container: Any, command: list[str]) -> None:
        summary: list[tuple[int, int, int]] = []
        marking = 0
        repositories = 0

        def on_line(stream: str, line: str) -> None:
            nonlocal marking, repositories
            if stream == "stdout" and MARKING.search(line):
                marking += 1
                if marking > MARKING_LINES_KEPT:
                    return
            elif stream == "stdout" and REPOSITORY_LINE.match(line):
                repositories += 1
                if repositories > REPOSITORY_LINES_KEPT:
                    return
            self.log(line if stream == "stdout" else f"[stderr] {line}")
            if stream == "stdout" and (eligible := ELIGIBLE_BLOB.search(line)):
                self.eligible.append(eligible[1])
            match = SUMMARY.search(line) if stream == "stdout" else None
            if match:
                summary.append((int(match[1]), int(match[2]), int(match[3])))

        outcome = engine.exec_stream(container, command, on_line, keep_stdout=False)
        if repositories > REPOSITORY_LINES_KEPT:
            self.log(
                f"... and {repositories - REPOSITORY_LINES_KEPT} more repository names, not kept here: the "
                f"mark phase went through {repositories} repositories."
            )
        if marking > MARKING_LINES_KEPT:
            self.log(
                f"... and {marking - MARKING_LINES_KEPT} more 'marking' lines, not kept here: the first "
                f"{MARKING_LINES_KEPT} of {marking} show the mark phase."
            )
        self.result["exit_code"] = outcome.exit_code
        if outcome.exit_code != 0 and EMPTY_REGISTRY.search(outcome.stderr):
            # A registry nobody pushed to has no repositories directory; 2.8 then fails to mark.
            self.log("The registry holds no repositories yet: nothing to collect.")
            self.result.update({"blobs_marked": 0, "blobs_eligible": 0, "manifests_eligible": 0})
            return
        if outcome.exit_code != 0:
            raise GcError(f"registry garbage-collect exited with {outcome.exit_code}; see the output.")
        if not summary:
            raise GcError(
                "registry garbage-collect printed no summary line ('N blobs marked, M blobs and K manifests "
                "eligible for deletion'): it did not collect. See the output (an unknown flag prints usage)."
            )
        marked, blobs, manifests = summary[-1]
        self.result.update({"blobs_marked": marked, "blobs_eligible": blobs, "manifests_eligible": manifests})

    def _online(self, client: engine.DockerClient, container: Any, command: list[str]) -> Any:
        """The installation guide's way: GC in the running registry, then a restart to drop the stale cache."""
        saved = container.attrs
        self._collect(container, command)
        self._flush_redis_cache(client, saved)
        started = time.monotonic()
        self.log("Restarting the registry (drops its blob-descriptor cache, distribution#1803).")
        engine.restart(container)
        engine.wait_running(container)
        wait_answering()
        self.result["downtime_seconds"] = round(time.monotonic() - started, 2)
        self._check_identical(saved, container.attrs)
        return container

    def _with_saved_configuration(self, client: engine.DockerClient, container: Any, command: list[str]) -> Any:
        """Read-only or stop mode: save the configuration, change the registry, GC, restore in finally."""
        saved = container.attrs
        record = registry_container.save_configuration(self.job, self.name, self.params.mode, saved, log=self.log)
        started = time.monotonic()
        restored = None
        try:
            if self.params.mode == "read-only":
                self._read_only(client, saved, command)
            else:
                self._stopped(client, container, saved, command)
            self._flush_redis_cache(client, saved)
        finally:
            self.log("Restoring the registry's original configuration.")
            restored = restore(client, saved, log=self.log)
            registry_container.close_maintenance(record, "job")
            seconds = round(time.monotonic() - started, 2)
            if self.params.mode == "read-only":
                self.result["read_only_seconds"] = seconds
            else:
                self.result["downtime_seconds"] = seconds
        self.log("The registry is back with its original configuration (compared before and after).")
        return restored

    def _read_only(self, client: engine.DockerClient, saved: dict[str, Any], command: list[str]) -> None:
        self.log(f"Recreating the registry read-only ({registry_container.READONLY_ENV}); pulls keep working.")
        readonly = registry_container.recreate(client, saved, extra_env=[registry_container.READONLY_ENV])
        engine.wait_running(readonly)
        wait_answering()
        expected = registry_container.normalized(saved)
        expected["Env"] = sorted([*expected["Env"], registry_container.READONLY_ENV])
        diffs = registry_container.differences(expected, registry_container.normalized(readonly.attrs))
        if diffs:
            raise GcError("The read-only registry differs from the original beyond the switch: " + "; ".join(diffs))
        self._collect(readonly, command)

    def _stopped(self, client: engine.DockerClient, container: Any, saved: dict[str, Any], command: list[str]) -> None:
        self.log("Stopping the registry; it answers nothing until the GC ends.")
        engine.stop_container(container)
        helper = registry_container.start_helper(client, saved, f"{self.name}-gc-{self.job.pk}")
        try:
            self.log(f"GC in the one-off container '{helper.name}' (same image, mounts and environment).")
            self._collect(helper, command)
        finally:
            with contextlib.suppress(engine.EngineError):
                engine.remove_container(client, helper.name)

    def _check_identical(self, saved: dict[str, Any], now: dict[str, Any]) -> None:
        diffs = registry_container.differences(registry_container.normalized(saved), registry_container.normalized(now))
        if diffs:
            raise GcError("The registry container's configuration changed during the GC: " + "; ".join(diffs))

    def _flush_redis_cache(self, client: engine.DockerClient, saved: dict[str, Any]) -> None:
        """Delete the registry's ``blobs::*`` and ``repository::*`` keys when it caches in Redis."""
        try:
            version = self.result.get("version") or ""
            v3 = not snapshot.is_v2(version) if version else None
            server = registry_cache.configured_server(registry_container.container_env(saved), v3)
            if server is None:
                return
            # The worker may not resolve a name only the registry's network knows: try its address too.
            hosts = [server.host]
            linked = registry_container.linked_address(client, saved, server.host)
            if linked:
                hosts.append(linked)
            deleted = registry_cache.flush(server, hosts)
        except registry_cache.RegistryCacheError as e:
            raise GcError(e.message) from e
        self.result["redis_keys_deleted"] = deleted
        self.log(f"Deleted {deleted} blobs::* and repository::* keys from the registry's Redis cache.")


# --------------------------------------------------------------------------- watchdog


def watchdog() -> list[str]:
    """Restore a registry left in maintenance by a dead worker; fail its orphaned jobs.

    Does nothing while the GC lock is held (a live worker is on it). Returns what it did.
    """
    client = lock.redis_client()
    gc_lock = lock.gc_lock(client)
    if not gc_lock.acquire(blocking=False):
        client.close()
        return []
    done: list[str] = []
    try:
        for record in RegistryMaintenance.objects.filter(ended_at__isnull=True).order_by("started_at"):
            docker_client = engine.connect()
            try:
                restore(docker_client, record.attrs, pin_image=record.mode == UPDATE_MODE)
            finally:
                docker_client.close()
            registry_container.close_maintenance(record, "watchdog")
            if record.mode != UPDATE_MODE:
                what = f"{record.mode} garbage collection"
            elif record.job is not None and record.job.kind == Job.Kind.REGISTRY_LOGIN:
                what = "registry login switch"
            else:
                what = "update"
            message = (
                f"Restored '{record.container_name}' with its original configuration after an interrupted "
                f"{what} (job {record.job_id})."
            )
            audit.record(action="gc-watchdog-restored", outcome="succeeded", via="watchdog", detail=message)
            done.append(message)
        done += _leave_read_only_without_record()
        cutoff = timezone.now() - dt.timedelta(seconds=2 * settings.GC_LOCK_TIMEOUT)
        holding = (Job.Kind.GC, Job.Kind.UPDATE)  # the jobs that hold the lock while they run
        for job in Job.objects.filter(kind__in=holding, status=Job.Status.RUNNING, started_at__lt=cutoff):
            runner.log(job, "ERROR: the worker running this job stopped (its lock expired).")
            what = "registry update" if job.kind == Job.Kind.UPDATE else "garbage collection"
            runner.fail(job, f"The worker running this {what} died; the watchdog restored the registry.")
            done.append(f"Failed orphaned job {job.pk}.")
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            gc_lock.release()
        client.close()
    return done


def _leave_read_only_without_record() -> list[str]:
    """A registry read-only with no saved configuration (e.g. the database was restored from a
    backup): recreate it from its own configuration minus the read-only switch."""
    try:
        docker_client = engine.connect()
    except engine.EngineError as e:
        logger.warning("watchdog: %s", e.message)
        return []
    try:
        container = engine.get_container(docker_client, settings.REGISTRY_CONTAINER)
        if container is None or registry_container.READONLY_ENV not in (container.attrs["Config"].get("Env") or []):
            return []
        attrs = copy.deepcopy(container.attrs)
        attrs["Config"]["Env"] = [e for e in attrs["Config"]["Env"] if e != registry_container.READONLY_ENV]
        restore(docker_client, attrs)
    finally:
        docker_client.close()
    message = f"Made '{settings.REGISTRY_CONTAINER}' writable again: it was read-only with no GC running."
    audit.record(action="gc-watchdog-restored", outcome="succeeded", via="watchdog", detail=message)
    return [message]

"""Garbage collection of the registry: requested by a view or the scheduler, run by a worker.

Why it is more than the seed's ``docker exec registry registry garbage-collect``:
- a push during GC can lose its layers (distribution#3045, #2881), so real runs make the
  registry read-only (recreated with the read-only switch) or stop it;
- the running registry's blob-descriptor cache keeps deleted blobs, so a re-push after GC
  says "Layer already exists" and the pull then fails (distribution#1803, #3743, #4269,
  #4569): every real run ends with a restart and, with the Redis cache, deleted keys;
- a registry must never be left read-only or stopped (Harbor #13512, #8946): the container's
  configuration is saved before anything changes, restored in ``finally``, and a watchdog
  restores it when a worker died mid-run.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import docker
import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from catalog import registry
from core import audit
from maintenance import container, engine, jobs
from maintenance.models import Job, RegistryMaintenance

logger = logging.getLogger(__name__)

MODES = ("read-only", "stop", "online")
SUMMARY = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion")
EMPTY_REGISTRY = re.compile(r"Path not found: \S*/docker/registry/v2/repositories\b")
LOCK_KEY = "registry-admin:gc:lock"
ENQUEUE_LOCK_KEY = "registry-admin:gc:enqueue"
LOCK_WAIT_SECONDS = 15.0
VERSION_CACHE_KEY = "gc:registry-version"
DELETE_UNTAGGED_ON_V2 = (
    "--delete-untagged is refused on Distribution 2.x: it deletes the platform manifests of "
    "multi-arch images (distribution#3178, #3004), fixed in v3.0.0. Upgrade the registry to "
    "registry:3 to use it."
)


class GcError(Exception):
    """A GC request or run that cannot go on; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GcUnavailable(GcError):
    """The broker is down: nothing can be queued."""


class GcConflict(GcError):
    """Another GC is queued or running."""

    def __init__(self, job: Job | None) -> None:
        self.job = job
        name = f"job {job.pk} ({job.status})" if job else "a garbage collection whose lock is still held"
        super().__init__(f"A garbage collection is already queued or running: {name}. Wait for it to finish.")


@dataclass(frozen=True)
class GcParams:
    dry_run: bool = False
    delete_untagged: bool = False
    mode: str = "read-only"

    @classmethod
    def parse(cls, data: Any) -> GcParams:
        """Validated parameters from a request body or schedule; ValueError({field: message})."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise GcParamsInvalid({"non_field_errors": "Expected a JSON object."})
        errors: dict[str, str] = {}
        unknown = sorted(set(data) - {"dry_run", "delete_untagged", "mode"})
        for name in unknown:
            errors[name] = "Unknown field: the parameters are dry_run, delete_untagged and mode."
        values: dict[str, Any] = {}
        for name in ("dry_run", "delete_untagged"):
            value = data.get(name, False)
            if not isinstance(value, bool):
                errors[name] = "Must be true or false."
            values[name] = value
        mode = data.get("mode", "read-only")
        if mode not in MODES:
            errors["mode"] = f"Must be one of {', '.join(MODES)}."
        values["mode"] = mode
        if errors:
            raise GcParamsInvalid(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def command(self, config: str) -> list[str]:
        # Never --quiet: 2.x does not know it and then prints usage and exits 0 (REGISTRY-FACTS.md).
        flags = (["--dry-run"] if self.dry_run else []) + (["--delete-untagged"] if self.delete_untagged else [])
        return ["registry", "garbage-collect", *flags, config]


class GcParamsInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


# --------------------------------------------------------------------------- requests


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def gc_lock(client: redis.Redis) -> redis.lock.Lock:
    """The one-GC-at-a-time lock. Not thread-local: a heartbeat thread extends it."""
    return client.lock(LOCK_KEY, timeout=settings.GC_LOCK_TIMEOUT, thread_local=False)


def known_registry_version(ask_wait: float = 0.0) -> str:
    """The registry's ``registry --version`` as a worker last saw it (a GC run or the Registry page).

    With ``ask_wait`` > 0 and nothing known yet, a worker is asked for a fresh container
    snapshot (the web process never opens the engine itself); '' when none answers.
    """
    version: str = cache.get(VERSION_CACHE_KEY) or ""
    if not version:
        snapshot = container.fresh_snapshot(max_age=3600, wait=ask_wait) if ask_wait else container.recorded_snapshot()
        version = (snapshot or {}).get("version_raw") or ""
    return version


def registry_is_v2(ask_wait: float = 0.0) -> bool | None:
    """True for Distribution 2.x, False for v3, None while no worker has told us."""
    version = known_registry_version(ask_wait)
    return engine.is_v2(version) if version else None


def active_job() -> Job | None:
    return Job.objects.filter(kind=Job.Kind.GC, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()


def request_gc(
    params: GcParams,
    *,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Job:
    """Queue a GC job, or GcConflict naming the one that is queued or running."""
    from maintenance import tasks  # tasks imports this module

    # Refused up front on 2.x; when no worker can say which version runs, the worker refuses
    # the job before it changes anything.
    if params.delete_untagged and registry_is_v2(ask_wait=5.0):
        raise GcError(DELETE_UNTAGGED_ON_V2)
    client = redis_client()
    try:
        # Check-then-create under a short lock, so two simultaneous requests cannot both pass.
        with client.lock(ENQUEUE_LOCK_KEY, timeout=10, blocking_timeout=10):
            # A job no worker took (none was running) must not block every later request.
            jobs.expire_unclaimed(Job.Kind.GC, settings.GC_QUEUE_TIMEOUT)
            running = active_job()
            if running is not None or client.exists(LOCK_KEY):
                raise GcConflict(running)
            return jobs.enqueue(tasks.run_gc, Job.Kind.GC, params.as_dict(), request=request, user=user)
    except redis.exceptions.LockError as e:
        raise GcError("Another garbage collection request is being queued right now; try again.") from e
    except redis.exceptions.ConnectionError as e:
        raise GcUnavailable(f"Redis (REDIS_URL) does not answer, so no job can be queued: {e}") from e
    finally:
        client.close()


def preview() -> Job | None:
    """The newest successful dry run, if no real run came after it: what a real run would free."""
    last_dry = (
        Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=True)
        .order_by("-finished_at")
        .first()
    )
    if last_dry is None:
        return None
    later_real = Job.objects.filter(
        kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=False, finished_at__gt=last_dry.finished_at
    ).exists()
    return None if later_real else last_dry


def eligible_blobs(job: Job) -> list[str]:
    return re.findall(r"blob eligible for deletion: (\S+)", job.output)


# --------------------------------------------------------------------------- the run


class LockHeartbeat:
    """Extends the GC lock while the run lasts, so it expires soon after a worker dies."""

    def __init__(self, lock: redis.lock.Lock) -> None:
        self.lock = lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="gc-lock-heartbeat", daemon=True)

    def __enter__(self) -> LockHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _beat(self) -> None:
        interval = max(1.0, settings.GC_LOCK_TIMEOUT / 3)
        while not self._stop.wait(interval):
            try:
                self.lock.reacquire()
            except Exception:  # a lost lock is reported by release(); keep the GC going
                logger.exception("could not extend the GC lock")


def run(job_id: int) -> None:
    """The task body: take the lock, run the GC, record the result; never raises."""
    claimed = jobs.claim(job_id)
    if claimed is None:
        logger.warning("GC job %s is not queued any more (expired or taken); not running it", job_id)
        return
    job = claimed
    client = redis_client()
    lock = gc_lock(client)
    # Wait a little: the watchdog holds the lock for a moment every minute.
    if not lock.acquire(blocking=True, blocking_timeout=LOCK_WAIT_SECONDS):
        jobs.fail(job, "Another garbage collection holds the lock (a previous run is still ending); try later.")
        client.close()
        return
    try:
        params = GcParams.parse(job.params)
    except GcParamsInvalid as e:
        jobs.fail(job, f"Invalid parameters: {e.errors}")
        lock.release()
        client.close()
        return
    collection = GarbageCollection(job, params)
    try:
        with LockHeartbeat(lock):
            result = collection.run()
    except GcError as e:
        jobs.log(job, f"ERROR: {e.message}")
        jobs.fail(job, e.message, collection.result or None)
    except engine.EngineError as e:
        jobs.log(job, f"ERROR: {e.message}")
        jobs.fail(job, e.message, collection.result or None)
    except SoftTimeLimitExceeded:
        message = f"The garbage collection exceeded its time limit ({settings.GC_TIME_LIMIT}s, GC_TIME_LIMIT)."
        jobs.log(job, f"ERROR: {message}")
        jobs.fail(job, message, collection.result or None)
    except Exception as e:
        logger.exception("GC job %s failed", job_id)
        jobs.log(job, f"ERROR: {type(e).__name__}: {e}")
        jobs.fail(job, f"Unexpected error: {type(e).__name__}: {e}", collection.result or None)
    else:
        jobs.succeed(job, result)
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
        client.close()


class GarbageCollection:
    """One GC run for one job; ``result`` fills in as it goes (kept when it fails)."""

    def __init__(self, job: Job, params: GcParams) -> None:
        self.job = job
        self.params = params
        self.result: dict[str, Any] = {}
        self.name = settings.REGISTRY_CONTAINER

    def log(self, line: str) -> None:
        jobs.log(self.job, line)

    def run(self) -> dict[str, Any]:
        client = engine.connect()
        try:
            return self._run(client)
        finally:
            client.close()

    def _run(self, client: docker.DockerClient) -> dict[str, Any]:
        container = engine.get_container(client, self.name)
        if container is None:
            raise GcError(f"No container named '{self.name}' on the Docker engine: set REGISTRY_CONTAINER.")
        engine.require_running(container)
        version = engine.registry_version(client, container)
        cache.set(VERSION_CACHE_KEY, version, timeout=None)
        self.log(f"Registry: {version}")
        if self.params.delete_untagged and engine.is_v2(version):
            raise GcError(DELETE_UNTAGGED_ON_V2)
        config = engine.config_path(client, container)
        root = engine.data_root(client, container, config)
        mode = "dry-run" if self.params.dry_run else self.params.mode
        self.result.update({"mode": mode, "version": version, "config": config, "data_root": root})
        self.result["bytes_before"] = engine.storage_bytes(client, container, root)
        command = self.params.command(config)
        self.log(f"Mode: {mode}. Running: {' '.join(command)}")

        if self.params.dry_run:
            self._collect(client, container, command)
            after = container
        elif self.params.mode == "online":
            after = self._online(client, container, command)
        else:
            after = self._with_saved_configuration(client, container, command)

        self.result["bytes_after"] = engine.storage_bytes(client, after, root)
        if self.result["bytes_before"] is not None and self.result["bytes_after"] is not None:
            self.result["bytes_freed"] = max(0, self.result["bytes_before"] - self.result["bytes_after"])
        self.log(
            f"Done: {self.result['blobs_eligible']} blobs and {self.result['manifests_eligible']} manifests "
            f"{'eligible' if self.params.dry_run else 'deleted'}; "
            f"{self.result.get('bytes_freed', 'unknown')} bytes freed."
        )
        return self.result

    def _collect(self, client: docker.DockerClient, container: Any, command: list[str]) -> None:
        """Run the GC command; success needs exit 0 AND the summary line (2.8 exits 0 on bad flags)."""
        summary: list[tuple[int, int, int]] = []

        def on_line(stream: str, line: str) -> None:
            self.log(line if stream == "stdout" else f"[stderr] {line}")
            match = SUMMARY.search(line) if stream == "stdout" else None
            if match:
                summary.append((int(match[1]), int(match[2]), int(match[3])))

        outcome = engine.exec_stream(client, container, command, on_line)
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

    def _online(self, client: docker.DockerClient, container: Any, command: list[str]) -> Any:
        """The seed's way: GC in the running registry, then a restart to drop the stale cache."""
        saved = container.attrs
        self._collect(client, container, command)
        self._flush_redis_cache(client, saved)
        started = time.monotonic()
        self.log("Restarting the registry (drops its blob-descriptor cache, distribution#1803).")
        engine.restart_container(container)
        engine.wait_running(container)
        wait_answering()
        self.result["downtime_seconds"] = round(time.monotonic() - started, 2)
        self._check_identical(saved, container.attrs)
        return container

    def _with_saved_configuration(self, client: docker.DockerClient, container: Any, command: list[str]) -> Any:
        """Read-only or stop mode: save the configuration, change the registry, GC, restore in finally."""
        saved = container.attrs
        record = RegistryMaintenance.objects.create(
            job=self.job, container_name=self.name, mode=self.params.mode, attrs=saved
        )
        self.log(f"Saved the container's configuration (maintenance record {record.pk}).")
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
            record.ended_at = timezone.now()
            record.restored_by = "job"
            record.save(update_fields=["ended_at", "restored_by"])
            key = "read_only_seconds" if self.params.mode == "read-only" else "downtime_seconds"
            self.result[key] = round(time.monotonic() - started, 2)
        self.log("The registry is back with its original configuration (compared before and after).")
        return restored

    def _read_only(self, client: docker.DockerClient, saved: dict[str, Any], command: list[str]) -> None:
        self.log(f"Recreating the registry read-only ({engine.READONLY_ENV}); pulls keep working.")
        readonly = engine.recreate(client, saved, extra_env=[engine.READONLY_ENV])
        engine.wait_running(readonly)
        wait_answering()
        expected = engine.normalized(saved)
        expected["Env"] = sorted([*expected["Env"], engine.READONLY_ENV])
        diffs = engine.differences(expected, engine.normalized(readonly.attrs))
        if diffs:
            raise GcError("The read-only registry differs from the original beyond the switch: " + "; ".join(diffs))
        self._collect(client, readonly, command)

    def _stopped(self, client: docker.DockerClient, container: Any, saved: dict[str, Any], command: list[str]) -> None:
        self.log("Stopping the registry; it answers nothing until the GC ends.")
        engine.stop_container(container)
        helper = engine.start_helper(client, saved, f"{self.name}-gc-{self.job.pk}")
        try:
            self.log(f"GC in the one-off container '{helper.name}' (same image, mounts and environment).")
            self._collect(client, helper, command)
        finally:
            with contextlib.suppress(docker.errors.APIError):
                helper.remove(force=True)

    def _check_identical(self, saved: dict[str, Any], now: dict[str, Any]) -> None:
        diffs = engine.differences(engine.normalized(saved), engine.normalized(now))
        if diffs:
            raise GcError("The registry container's configuration changed during the GC: " + "; ".join(diffs))

    def _flush_redis_cache(self, client: docker.DockerClient, saved: dict[str, Any]) -> None:
        version = self.result.get("version") or ""
        deleted = flush_redis_cache(client, saved, v3=not engine.is_v2(version) if version else None)
        if deleted is not None:
            self.result["redis_keys_deleted"] = deleted
            self.log(f"Deleted {deleted} blobs::* and repository::* keys from the registry's Redis cache.")


def restore(client: docker.DockerClient, saved: dict[str, Any], log: Any = None) -> Any:
    """Bring the container back running with exactly ``saved``'s configuration; EngineError if not.

    Idempotent: a container already identical is only started when stopped; one that differs
    (read-only switch) or is missing is recreated; leftover one-off GC containers are removed.
    """
    name = saved["Name"].lstrip("/")
    engine.remove_helpers(client, name)
    current = engine.get_container(client, name)
    if current is not None and not engine.differences(engine.normalized(saved), engine.normalized(current.attrs)):
        if not current.attrs.get("State", {}).get("Running"):
            if log:
                log(f"Starting '{name}'.")
            engine.start_container(current)
    else:
        if log:
            log(f"Recreating '{name}' with its saved configuration.")
        current = engine.recreate(client, saved)
    engine.wait_running(current)
    diffs = engine.differences(engine.normalized(saved), engine.normalized(current.attrs))
    if not wait_answering() and log:
        log(f"Warning: {settings.REGISTRY_URL}/v2/ does not answer yet; check the registry's logs.")
    if diffs:
        raise engine.EngineError(
            f"The container '{name}' came back with a different configuration: {'; '.join(diffs)}. "
            "Compare it with the saved configuration (Admin > Registry maintenances) and fix it by hand."
        )
    return current


def wait_answering(timeout: float = 30.0) -> bool:
    """Wait until the registry answers its API again (it listens a moment after it starts)."""
    client = registry.get_client()
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return True
        except registry.RegistryError as e:
            if e.registry_status in (401, 403):  # behind auth: it answers, that is enough here
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)


def _redis_cache_settings(env: dict[str, str], v3: bool | None) -> tuple[str, str, str]:
    """(address, db, password) of the registry's Redis as the running version reads them.

    Distribution 3 reads ``redis.options.*`` (``REGISTRY_REDIS_OPTIONS_ADDRS=[host:6379]``,
    ``..._OPTIONS_DB``, ``..._OPTIONS_PASSWORD``) and ignores the 2.x ``REGISTRY_REDIS_ADDR``/
    ``_DB``/``_PASSWORD`` that docker-compose.yml sets beside them (distribution#4486); 2.x
    reads only those. ``v3`` None (version unknown): whichever is set, v3's first.
    """
    v3_addrs = env.get("REGISTRY_REDIS_OPTIONS_ADDRS", "").strip().strip("[]").split(",")[0]
    v3_values = (v3_addrs, env.get("REGISTRY_REDIS_OPTIONS_DB", ""), env.get("REGISTRY_REDIS_OPTIONS_PASSWORD", ""))
    v2_addr = env.get("REGISTRY_REDIS_ADDR") or env.get("REGISTRY_REDIS_ADDRS", "").strip("[]").split(",")[0]
    v2_values = (v2_addr, env.get("REGISTRY_REDIS_DB", ""), env.get("REGISTRY_REDIS_PASSWORD", ""))
    if v3 is True:
        return v3_values
    if v3 is False:
        return v2_values
    return v3_values if v3_addrs.strip() else v2_values


def flush_redis_cache(client: docker.DockerClient, attrs: dict[str, Any], v3: bool | None = None) -> int | None:
    """Delete the registry's ``blobs::*`` and ``repository::*`` keys when it caches in Redis.

    None when the registry does not use the Redis blob-descriptor cache (configured by
    environment; a cache configured only in the config file is not seen here). ``v3`` says
    which version's variables the registry reads (None: unknown).
    """
    env = engine.container_env(attrs)
    if env.get("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "").strip() != "redis":
        return None
    address, db, password = _redis_cache_settings(env, v3)
    host, _, port = address.strip().strip("'\"").rpartition(":")
    if not host:
        variable = "REGISTRY_REDIS_OPTIONS_ADDRS" if v3 else "REGISTRY_REDIS_ADDR"
        raise GcError(f"REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR=redis but {variable} is missing: cannot clear the cache.")
    candidates = [host]
    linked = engine.linked_address(client, attrs, host)
    if linked:
        candidates.append(linked)
    last_error: Exception | None = None
    for candidate in candidates:
        cache_redis = redis.Redis(
            host=candidate,
            port=int(port or 6379),
            db=int(db or 0),
            password=password or None,
            socket_connect_timeout=3,
            socket_timeout=10,
        )
        try:
            deleted = 0
            for pattern in ("blobs::*", "repository::*"):
                batch: list[bytes] = []
                for key in cache_redis.scan_iter(pattern, count=1000):
                    batch.append(key)
                    if len(batch) >= 500:
                        deleted += cache_redis.delete(*batch)
                        batch = []
                if batch:
                    deleted += cache_redis.delete(*batch)
            return deleted
        except (redis.exceptions.RedisError, OSError) as e:
            last_error = e
        finally:
            cache_redis.close()
    raise GcError(
        f"Could not clear the registry's Redis cache at {address} ({last_error}). Delete its keys by hand "
        "(redis-cli --scan --pattern 'blobs::*' | xargs redis-cli del, same for 'repository::*') "
        "before pushing again, or restart that Redis."
    )


# --------------------------------------------------------------------------- watchdog


def watchdog() -> list[str]:
    """Restore a registry left in maintenance by a dead worker; fail its orphaned jobs.

    Does nothing while the GC lock is held (a live worker is on it). Returns what it did.
    """
    client = redis_client()
    lock = gc_lock(client)
    if not lock.acquire(blocking=False):
        client.close()
        return []
    done: list[str] = []
    try:
        for record in RegistryMaintenance.objects.filter(ended_at__isnull=True).order_by("started_at"):
            docker_client = engine.connect()
            try:
                restore(docker_client, record.attrs)
            finally:
                docker_client.close()
            record.ended_at = timezone.now()
            record.restored_by = "watchdog"
            record.save(update_fields=["ended_at", "restored_by"])
            message = (
                f"Restored '{record.container_name}' with its original configuration after an interrupted "
                f"{record.mode} garbage collection (job {record.job_id})."
            )
            audit.record(action="gc-watchdog-restored", outcome="succeeded", via="watchdog", detail=message)
            done.append(message)
        done += _leave_read_only_without_record()
        cutoff = timezone.now() - dt.timedelta(seconds=2 * settings.GC_LOCK_TIMEOUT)
        for job in Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.RUNNING, started_at__lt=cutoff):
            jobs.log(job, "ERROR: the worker running this job stopped (its lock expired).")
            jobs.fail(job, "The worker running this garbage collection died; the watchdog restored the registry.")
            done.append(f"Failed orphaned job {job.pk}.")
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
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
        if container is None or engine.READONLY_ENV not in (container.attrs["Config"].get("Env") or []):
            return []
        attrs = copy.deepcopy(container.attrs)
        attrs["Config"]["Env"] = [e for e in attrs["Config"]["Env"] if e != engine.READONLY_ENV]
        restore(docker_client, attrs)
    finally:
        docker_client.close()
    message = f"Made '{settings.REGISTRY_CONTAINER}' writable again: it was read-only with no GC running."
    audit.record(action="gc-watchdog-restored", outcome="succeeded", via="watchdog", detail=message)
    return [message]

"""Verifying the registry after a restore (worker side): every tag's manifest and blobs answer.

The installation guide's restore ends with ``curl /v2/_catalog``, which says nothing about a
snapshot that caught a half-written upload. Here every tag is resolved (HEAD), its manifest
read, and every blob it references (config, layers; for an index each platform's manifest
and its blobs) asked for with HEAD, VERIFY_CONCURRENCY at a time; then the registry's own
``garbage-collect --dry-run`` must find nothing broken (it fails on a manifest it cannot
read). The report lists what is missing by repository, tag and digest.

HEAD is answered from the registry's blob-descriptor cache when it still knows a blob, so
verify a restored registry after it was (re)started, as the installation guide's restore
does; a Redis cache (``storage.cache.blobdescriptor: redis``) survives restarts.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from django.conf import settings

from core.errors import ActionableError
from inventory import files as inventory_files
from inventory import scrub
from inventory import sync as inventory_sync
from inventory.models import Tag
from jobs import runner, services
from jobs.models import Job
from maintenance import engine, gc, registry_container, registry_jobs
from maintenance.registry_jobs import GcDryRunReport, VerifyResult
from registry_client import client as registry

logger = logging.getLogger(__name__)

#: A progress line every this many tags.
PROGRESS_EVERY = 25
#: Missing things listed in the result at most (the count is always complete).
REPORT_LIMIT = 1000


class VerifyError(ActionableError):
    """A verification that cannot go on; the message says why."""


@dataclass(frozen=True)
class TagRef:
    repository: str
    tag: str


@dataclass(frozen=True)
class Missing:
    """Something a tag needs that the registry does not answer for."""

    repository: str
    tag: str
    digest: str
    kind: str  # manifest, platform manifest, config, layer
    detail: str


def tag_inventory(client: registry.RegistryClient) -> tuple[list[TagRef], str]:
    """Every (repository, tag) to check, and where the list came from.

    The inventory once a sync has finished (after a restore it is the database restored from
    the same snapshot); before the first sync the registry itself, walked through its
    catalog and tag lists, so a dashboard that never synced still verifies everything.
    """
    if inventory_sync.synced_once():
        rows = Tag.objects.order_by("repository__name", "name").values_list("repository__name", "name")
        return [TagRef(name, tag) for name, tag in rows], "the inventory"
    found: list[TagRef] = []
    for name in sorted(client.catalog()):
        try:
            tags = client.tags(name)
        except registry.RegistryNotFound:  # deleted between the catalog and its tag list
            continue
        found += [TagRef(name, tag) for tag in sorted(tags)]
    return found, "the registry's catalog (the inventory has not been synced yet)"


def run(job_id: int) -> None:
    """The task body: check every tag, then GC's dry run; record the report; never raises."""
    Verification.handle(job_id)


class Verification(runner.JobRunner[VerifyResult]):
    """One verification for one job; ``result`` fills in as it goes."""

    kind = Job.Kind.VERIFY
    expected = (VerifyError, engine.EngineError, registry.RegistryError)

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.result: VerifyResult = {}
        self.client = registry.get_client()
        self._lock = threading.Lock()
        self._blobs: dict[tuple[str, str], bool] = {}  # (repository, digest) -> answers
        self._manifests_checked = 0
        self._referenced: set[str] = set()  # every digest a tag needs, for GC's dry run

    def run(self) -> VerifyResult:
        # The GC lock is not checked here: the watchdog holds it a moment every minute; a GC
        # that runs holds a running job, which busy() finds.
        conflict = services.busy(self.kind, ignore=self.job, lock_free=True)
        if conflict is not None:
            raise VerifyError(conflict.message)
        refs, source = tag_inventory(self.client)
        self.log(f"{len(refs)} tags to check, from {source}, {settings.VERIFY_CONCURRENCY} at a time.")
        self.result.update({"tags_total": len(refs), "source": source})
        missing: list[Missing] = []
        # The pool's threads only ask the registry; progress is written here, in the job's thread.
        with ThreadPoolExecutor(settings.VERIFY_CONCURRENCY, thread_name_prefix="verify") as pool:
            for done, found in enumerate(pool.map(self._check_tag, refs), start=1):
                missing += found
                if done % PROGRESS_EVERY == 0 or done == len(refs):
                    self.log(f"Checked {done}/{len(refs)} tags, {len(missing)} missing so far.")
        for item in missing[:REPORT_LIMIT]:
            self.log(f"MISSING {item.kind} {item.digest} of {item.repository}:{item.tag}: {item.detail}")
        self.result.update(
            {
                "tags_checked": len(refs),
                "manifests_checked": self._manifests_checked,
                "blobs_checked": len(self._blobs),
                "missing_count": len(missing),
                "missing": [asdict(item) for item in missing[:REPORT_LIMIT]],
            }
        )
        self.result["gc_dry_run"] = self._gc_dry_run()
        self.result["ok"] = not missing and self.result["gc_dry_run"]["ok"]
        self.log(registry_jobs.verify_sentence(self.result))
        self._queue_scrub()
        return self.result

    def _queue_scrub(self) -> None:
        """HEAD proves a blob is there, not that its bytes are intact: with the storage files readable,
        a scrub reads them all after the restore check (issue 24), as its own job."""
        found = inventory_files.source()
        if found.files is None:
            self.log(f"No scrub of the storage files: {found.reason}")
            return
        try:
            job = scrub.queue_scrub(user=self.job.user, reason="restore check")
        except services.JobRequestError as e:
            self.log(f"No scrub queued: {e.message}")
            return
        self.result["scrub_job"] = job.pk
        self.log(f"Scrub job {job.pk} queued: it reads every blob and checks its sha256 ({job.get_absolute_url()}).")

    def problems(self, result: VerifyResult) -> str | None:
        """Anything missing, or GC's dry run failing: problems found, never "succeeded"."""
        return None if result.get("ok") else registry_jobs.verify_sentence(result)

    # --- One tag --------------------------------------------------------------------------

    def _check_tag(self, ref: TagRef) -> list[Missing]:
        return self._check_reference(ref, ref.tag, "manifest")

    def _check_reference(self, ref: TagRef, reference: str, kind: str) -> list[Missing]:
        """The manifest ``reference`` of ``ref``'s repository and everything it references."""
        name = ref.repository
        try:
            head = self.client.head_manifest(name, reference)
            manifest = self.client.get_manifest(name, head.digest)
        except registry.RegistryNotFound as e:
            digest = reference if reference.startswith("sha256:") else ""
            return [Missing(name, ref.tag, digest, kind, e.message)]
        except registry.RegistryError as e:
            if e.registry_status is not None and e.registry_status >= 500:
                # A manifest whose blob is gone makes 2.8 answer 500 on GET instead of 404.
                return [Missing(name, ref.tag, reference if reference.startswith("sha256:") else "", kind, e.message)]
            raise
        with self._lock:
            self._manifests_checked += 1
            self._referenced.add(head.digest)
        missing: list[Missing] = []
        if manifest.is_index:
            for child in manifest.body.get("manifests") or []:
                missing += self._check_reference(ref, str(child.get("digest", "")), "platform manifest")
            return missing
        config = manifest.body.get("config") or {}
        blobs = [("config", str(config.get("digest", "")))] if config.get("digest") else []
        blobs += [("layer", str(layer.get("digest", ""))) for layer in manifest.body.get("layers") or []]
        with self._lock:
            self._referenced.update(digest for _kind, digest in blobs)
        for blob_kind, digest in blobs:
            if not self._blob_answers(name, digest):
                missing.append(
                    Missing(name, ref.tag, digest, blob_kind, f"HEAD /v2/{name}/blobs/{digest} answered 404")
                )
        return missing

    def _blob_answers(self, name: str, digest: str) -> bool:
        key = (name, digest)
        with self._lock:
            known = self._blobs.get(key)
        if known is not None:
            return known
        answers = self.client.blob_exists(name, digest)
        with self._lock:
            self._blobs[key] = answers
        return answers

    # --- The registry's own check ------------------------------------------------------------

    def _gc_dry_run(self) -> GcDryRunReport:
        """``registry garbage-collect --dry-run`` in the container: it fails on a manifest it cannot read."""
        client = engine.connect()
        try:
            container = engine.get_registry_container(client)
            engine.require_running(container)
            command = ["registry", "garbage-collect", "--dry-run", registry_container.config_path(container)]
            self.log(f"Running: {' '.join(command)}")
            outcome = engine.exec_stream(container, command)
        finally:
            client.close()
        summary = [m for m in (gc.SUMMARY.search(line) for line in outcome.stdout.splitlines()) if m]
        errors = _error_lines(outcome.stderr.splitlines())
        empty = outcome.exit_code != 0 and bool(gc.EMPTY_REGISTRY.search(outcome.stderr))
        # A GC that would delete what a tag still needs is broken too: a manifest it cannot
        # read marks nothing (seen on 2.8.2, exit 0), and distribution#4939 (3.1.1) once
        # removed a referenced blob.
        eligible = set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", outcome.stdout))
        needed = sorted(eligible & self._referenced)
        ok = empty or (outcome.exit_code == 0 and bool(summary) and not needed)
        report: GcDryRunReport = {"exit_code": outcome.exit_code, "ok": ok, "errors": errors[:20]}
        if needed:
            report["referenced_eligible"] = needed[:REPORT_LIMIT]
            report["errors"] = [
                f"it would delete {len(needed)} blobs that tags still reference, e.g. {needed[0]}",
                *report["errors"],
            ]
        if summary:
            report["summary"] = summary[-1][0]
        if ok:
            self.log(f"garbage-collect --dry-run: {report.get('summary', 'no repositories yet')}.")
        else:
            self.log(f"garbage-collect --dry-run exited with {outcome.exit_code}: {'; '.join(errors[:5])}")
        return report


def _error_lines(lines: Iterable[str]) -> list[str]:
    """stderr lines that report a problem (logrus ``level=error``/``fatal``, panics, failures)."""
    markers = ("level=error", "level=fatal", "panic", "failed", "error")
    return [line.strip()[:300] for line in lines if any(marker in line.lower() for marker in markers)]

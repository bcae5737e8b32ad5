"""A retention run, on a worker: the plan worked out again, checked, then deleted repository by repository.

Deletes go through ``catalog.deletion`` (the dashboard's own deletes: every tag HEAD-resolved
again before anything goes, every delete, refusal and failure in the audit log). A tag the
registry now resolves to another digest than the plan's refuses its repository. The first
repository whose deletes fail stops the run: the result lists what was deleted, what was
refused, what failed and the repositories not attempted. A run that deleted part of its plan
and was refused or failed for the rest ends "problems found" (``warning``) with the counts; one
that stopped before deleting anything fails.
"""

from __future__ import annotations

from typing import cast

from catalog import deletion
from jobs import runner
from jobs.models import Job
from jobs.services import JobRequestError
from maintenance import gc_requests
from retention import plan, requests
from retention.models import RetentionPolicy
from retention.requests import Outcome, RetentionParams, RetentionResult


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class _Result:
    def __init__(self, policy: RetentionPolicy, current: plan.Plan) -> None:
        self.data: RetentionResult = {
            "policy": policy.pk,
            "policy_name": policy.name,
            "fingerprint": current.fingerprint,
            "registry_deletes_tags": current.deletes_tags,
            "bytes_expected": current.bytes,
            "tags_planned": current.tags,
            "deleted_tags": [],
            "deleted_manifests": [],
            "refused": [],
            "failed": [],
            "not_attempted": [],
            "gc_job": None,
        }

    def add(self, key: Outcome, **item: str) -> None:
        self.data[key].append(item)

    @property
    def deleted_anything(self) -> bool:
        return bool(self.data["deleted_tags"] or self.data["deleted_manifests"])

    def summary(self) -> str:
        d = self.data
        repositories = len({i["repository"] for i in d["deleted_tags"] + d["deleted_manifests"]})
        sentence = (
            f"Deleted {_plural(len(d['deleted_tags']), 'tag')} and {_plural(len(d['deleted_manifests']), 'manifest')}"
            + (f" in {repositories} {'repository' if repositories == 1 else 'repositories'}" if repositories else "")
            + "."
        )
        if d["refused"]:
            sentence += f" {_plural(len(d['refused']), 'refusal')}."
        if d["failed"]:
            sentence += f" {_plural(len(d['failed']), 'failure')}."
        if d["not_attempted"]:
            sentence += f" Not attempted: {', '.join(d['not_attempted'])}."
        return sentence

    def finish(self) -> RetentionResult:
        self.data["tags"] = len(self.data["deleted_tags"])
        self.data["manifests"] = len(self.data["deleted_manifests"])
        self.data["summary"] = self.summary()
        return self.data


def run(job_id: int) -> None:
    RetentionRun.handle(job_id)


class RetentionRun(runner.JobRunner[RetentionResult]):
    """A retention job: the plan again, its fingerprint checked, then the deletes; a GC after them
    when the policy asks for one and something was deleted."""

    kind = Job.Kind.RETENTION

    def run(self) -> RetentionResult:
        job = self.job
        params = cast(RetentionParams, job.params or {})
        policy = RetentionPolicy.objects.filter(pk=int(params.get("policy") or 0)).first()
        if policy is None:
            raise runner.JobFailed(f"Retention policy {params.get('policy')} no longer exists: nothing was deleted.")
        self.policy = policy
        self.log(f"Retention policy {policy.name}: working out the plan from the inventory.")
        try:
            current = plan.build(policy)
        except plan.PlanUnavailable as e:
            raise runner.JobFailed(f"{e.message} Nothing was deleted.") from e
        expected = params.get("fingerprint")
        if expected and expected != current.fingerprint:
            raise runner.JobFailed(requests.STALE.format(given=expected, current=current.fingerprint))
        result = _Result(policy, current)
        self.log(
            f"{_plural(current.tags, 'tag')} and {_plural(current.manifests, 'manifest')} to delete "
            f"({'registry:3: tags are deleted by name' if current.deletes_tags else 'Distribution 2.x: by digest'}).",
        )
        work = [r for r in current.repositories if r.delete or r.manifests]
        stopped = ""
        for index, repository in enumerate(work):
            stopped = _run_repository(job, policy, repository, current.deletes_tags, result)
            if stopped:
                result.data["not_attempted"] = [r.name for r in work[index + 1 :]]
                break
        data = result.finish()
        self.deleted_anything = result.deleted_anything
        if stopped:
            self.log(f"Stopped: {stopped}")
            if not result.deleted_anything:
                raise runner.JobFailed(f"{stopped} {data['summary']}", result=data)
            data["stopped"] = stopped
        self.log(data["summary"])
        return data

    def problems(self, result: RetentionResult) -> str | None:
        """Deletes refused or failed, or repositories not attempted: only part of the plan was done."""
        if not (result["refused"] or result["failed"] or result["not_attempted"]):
            return None
        planned = result.get("tags_planned", len(result["deleted_tags"]) + len(result["failed"]))
        parts = [f"{_plural(len(result['deleted_tags']), 'tag')} of {planned} deleted"]
        if result["failed"]:
            parts.append(f"{_plural(len(result['failed']), 'delete')} failed")
        if result["refused"]:
            parts.append(f"{_plural(len(result['refused']), 'delete')} refused")
        if result["not_attempted"]:
            count = len(result["not_attempted"])
            parts.append(f"{count} {'repository' if count == 1 else 'repositories'} not attempted")
        why = f" {result['stopped']}" if result.get("stopped") else ""
        return f"Only part of the plan was done: {', '.join(parts)}.{why} {result['summary']}"

    def after(self, result: RetentionResult) -> None:
        if self.policy.then_gc and self.deleted_anything:
            _then_gc(self.job, result)


def _then_gc(job: Job, data: RetentionResult) -> None:
    """A read-only garbage collection after a run that deleted something (the run has ended)."""
    try:
        gc = gc_requests.request_gc(gc_requests.GcParams(mode="read-only"))  # for who asked for the run
    except (gc_requests.GcError, JobRequestError) as e:
        data["gc_refused"] = e.message
        runner.log(job, f"Garbage collection not queued: {e.message}")
    else:
        data["gc_job"] = gc.pk
        runner.log(job, f"Garbage collection job {gc.pk} queued (read-only).")
    Job.objects.filter(pk=job.pk).update(result=data)


def _run_repository(
    job: Job, policy: RetentionPolicy, repository: plan.RepositoryPlan, deletes_tags: bool, result: _Result
) -> str:
    """Delete one repository's part of the plan; the reason the run must stop, or ''."""
    name = repository.name
    expected = {entry.tag: entry.digest for entry in repository.delete}
    prune = policy.untagged and deletes_tags
    done_manifests: set[str] = set()
    if expected:
        try:
            planned = deletion.plan_delete(name, list(expected))
        except deletion.DeletionError as e:
            for tag, digest in expected.items():
                result.add("failed", repository=name, tag=tag, digest=digest, detail=e.message)
            return f"{name}: {e.message}"
        moved = [
            o.tag for o in planned.outcomes if o.status != deletion.Status.NOT_FOUND and o.digest != expected[o.tag]
        ]
        if moved:
            detail = (
                f"Tag{'s' if len(moved) > 1 else ''} {', '.join(moved)} now point{'' if len(moved) > 1 else 's'} to "
                "another manifest than the inventory's: nothing was deleted in this repository. Sync the inventory, "
                "then preview again."
            )
            for tag, digest in expected.items():
                result.add("refused", repository=name, tag=tag, digest=digest, detail=detail)
            runner.log(job, f"{name}: refused. {detail}")
            return ""
        done = deletion.execute(planned, prune=prune)
        for outcome in done.outcomes:
            if outcome.status == deletion.Status.REMOVED:
                continue
            key: Outcome = "refused" if outcome.status == deletion.Status.REFUSED else "failed"
            result.add(key, repository=name, tag=outcome.tag, digest=outcome.digest, detail=outcome.detail)
        for tag in done.removed_tags:
            result.add("deleted_tags", repository=name, tag=tag, digest=expected.get(tag, ""))
        for digest in done.deleted_manifests:
            done_manifests.add(digest)
            result.add("deleted_manifests", repository=name, digest=digest)
        runner.log(
            job,
            f"{name}: deleted {_plural(len(done.removed_tags), 'tag')}"
            + (f" and {_plural(len(done.deleted_manifests), 'manifest')}" if done.deleted_manifests else "")
            + ".",
        )
        if any(o.status == deletion.Status.FAILED for o in done.outcomes):
            return f"{name}: a delete failed ({next(o.detail for o in done.outcomes if o.status == 'failed')})"
    # 2.x (or manifests left from an earlier partial run): the platforms of deleted indexes, by digest.
    if policy.untagged and not deletes_tags:
        for digest in repository.manifests:
            if digest in done_manifests:
                continue
            try:
                deletion.delete_manifest(name, digest)
            except deletion.DeletionError as e:
                if e.status == 404:  # already gone
                    continue
                result.add("failed", repository=name, tag="", digest=digest, detail=e.message)
                return f"{name}: deleting manifest {digest} failed ({e.message})"
            result.add("deleted_manifests", repository=name, digest=digest)
            runner.log(job, f"{name}: deleted untagged manifest {digest}.")
    return ""

"""What the Retention page and the API ask: policies saved (with their schedule) and audited,
previews, runs queued. Nothing here deletes: runs happen on a worker (``retention.run``)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from core import audit
from inventory import services as inventory_services
from jobs.models import Job
from retention import plan, requests, schedules
from retention.models import FIELDS, RetentionPolicy

#: The rules that keep tags: a policy with none of them deletes every tag it considers.
KEEP_RULES = ("keep_last", "keep_days", "keep_pulled_days", "keep_tags")


def describe(policy: RetentionPolicy) -> str:
    return ", ".join(f"{name}={getattr(policy, name)!r}" for name in FIELDS)


def save_policy(policy: RetentionPolicy, request: HttpRequest, *, created: bool) -> RetentionPolicy:
    """Save a validated policy and its beat entry together, audited."""
    with transaction.atomic():
        policy.save()
        schedules.sync(policy)
        audit.record(
            action="retention-policy-created" if created else "retention-policy-changed",
            outcome="succeeded",
            request=request,
            detail=f"policy {policy.pk}: {describe(policy)}",
        )
    return policy


def delete_policy(policy: RetentionPolicy, request: HttpRequest) -> None:
    detail = f"policy {policy.pk}: {describe(policy)}"
    with transaction.atomic():
        schedules.remove(policy)
        policy.delete()
        audit.record(action="retention-policy-deleted", outcome="succeeded", request=request, detail=detail)


_PREVIEWED_KEY = "retention:previewed:{}"
_PREVIEWED_FOR = 7 * 24 * 3600


def was_previewed(policy: RetentionPolicy) -> bool:
    """Whether someone previewed ``policy`` as it is saved now (a change since needs another preview)."""
    return policy.pk is not None and bool(cache.get(_PREVIEWED_KEY.format(policy.pk)) == policy.updated_at.isoformat())


def keeps_nothing(values: dict[str, object]) -> bool:
    """Whether a policy with these values keeps no tag it considers (no keep rule at all)."""
    return not any(values.get(name) for name in KEEP_RULES)


def preview(policy: RetentionPolicy) -> plan.Plan:
    """What a run of ``policy`` would delete now (PlanUnavailable when the registry cannot say).

    When the inventory cannot vouch for itself (an events gap no sync has covered yet, or no sync
    finished), the repositories the policy selects are first read from the registry, and the
    preview says so (``refreshed``)."""
    why = inventory_services.cannot_vouch()
    refreshed = inventory_services.refresh_repositories(lambda name: plan.selects(policy, name)) if why else 0
    found = plan.build(policy)
    # Remembered for the API's rule: a policy that keeps nothing is scheduled only once it was
    # previewed as it is saved now (``was_previewed``), as the pages require of a person.
    if policy.pk is not None:
        cache.set(_PREVIEWED_KEY.format(policy.pk), policy.updated_at.isoformat(), timeout=_PREVIEWED_FOR)
    if why:
        found.refreshed = f"{refreshed} repositor{'y' if refreshed == 1 else 'ies'} read from the registry first: {why}"
    return found


def queue_run(policy: RetentionPolicy, fingerprint: str | None, request: HttpRequest) -> Job:
    """Queue a run for the user of ``request`` (RunRefused, StalePreview)."""
    return requests.request_run(policy, fingerprint or None, request=request)


def recent_runs(policy: RetentionPolicy | None = None, limit: int = 10) -> list[Job]:
    runs = Job.objects.filter(kind=Job.Kind.RETENTION).select_related("user")
    if policy is not None:
        runs = runs.filter(params__policy=policy.pk)
    return list(runs[:limit])


def params_text(job: Job) -> str:
    """A retention run's parameters in words (issue 25: the job page showed
    ``policy=6, policy_name=..., fingerprint=0aeb8aab...``)."""
    params = job.params or {}
    name = params.get("policy_name") or f"#{params.get('policy')}"
    text = f"policy “{name}”"
    if params.get("fingerprint"):
        text += ", exactly the previewed plan (nothing is deleted if the registry changed since)"
    return text


def outcome(job: Job) -> str:
    """A retention run's sentence on the job pages: its summary, or why it failed."""
    summary = (job.result or {}).get("summary")
    if summary:
        return f"Failed: {job.error}" if job.status == Job.Status.FAILED and job.error else str(summary)
    if job.status == Job.Status.FAILED:
        return job.error or "Failed."
    return str(job.get_status_display())

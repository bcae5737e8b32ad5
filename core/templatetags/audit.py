"""Audit entries as plain sentences with links to repositories, tags and jobs (issue 17)."""

from __future__ import annotations

import re

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.models import AuditEntry

register = template.Library()

# Entries recorded with the job in their detail only (``fields["job"]`` is read first).
JOB = re.compile(r"\bjob (\d+)\b")
# The channel of what a job did for someone (``jobs.models.Job.audit_via``): "retention run #12".
RUN = re.compile(r"^(?P<kind>[\w-]+) run #(?P<job>\d+)$")
KINDS = {"gc": "garbage collection", "stats": "statistics collection"}
# What each action did, as a verb phrase; {job} is a link to the job it names.
DONE = {
    "delete-tag": "deleted tag {tag}",
    "delete-manifest": "deleted manifest {digest}",
    "gc-queued": "queued garbage collection {job}",
    "gc-finished": "garbage collection {job} finished",
    "stats-queued": "queued statistics collection {job}",
    "stats-finished": "statistics collection {job} finished",
    "gc-schedule-created": "added a garbage collection schedule",
    "gc-schedule-changed": "changed a garbage collection schedule",
    "gc-schedule-deleted": "deleted a garbage collection schedule",
    "gc-watchdog-restored": "restored the registry after an interrupted garbage collection",
    "registry-pause": "paused the registry for a snapshot",
    "registry-unpause": "resumed the registry",
    "registry-restart": "restarted the registry",
    "schedule-changed": "changed the statistics schedule",
}
TRIED = {
    "delete-tag": "tried to delete tag {tag}",
    "delete-manifest": "tried to delete manifest {digest}",
}


def _url(name: str, *args: str) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _link(url: str, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text) if url else format_html("{}", text)


def _job_of(entry: AuditEntry) -> str:
    """The job an entry names: ``fields["job"]``, or for an entry recorded without it, the
    "job N" its detail starts with."""
    fields = entry.fields if isinstance(entry.fields, dict) else {}
    if fields.get("job") is not None:
        return str(fields["job"])
    found = JOB.search(entry.detail or "")
    return found[1] if found else ""


@register.simple_tag
def audit_sentence(entry: AuditEntry) -> SafeString:
    """``otto deleted tag acme/app:1.0``, ``the scheduler queued garbage collection #12`` (refused, failed)."""
    actor = entry.actor or "someone"
    if entry.user_id is None and entry.via in ("scheduler", "watchdog"):
        actor = f"the {entry.via}"
    elif entry.user_id is None and entry.actor == "scheduler":  # what a scheduled run did
        actor = "the scheduler"
    repository = _link(_url("catalog:tags", entry.repository), entry.repository) if entry.repository else ""
    tag = (
        format_html("{}:{}", repository, _link(_url("catalog:image", entry.repository, entry.tag), entry.tag))
        if entry.tag
        else repository
    )
    digest = format_html(
        '<code class="digest" title="{}">{}</code>{}',
        entry.digest,
        entry.digest[:19] + "…" if len(entry.digest) > 19 else entry.digest,
        format_html(" of {}", repository) if repository and not entry.tag else "",
    )
    job_id = _job_of(entry)
    job = _link(_url("job", job_id), f"#{job_id}") if job_id else ""
    phrases = DONE if entry.outcome in (AuditEntry.Outcome.SUCCEEDED, AuditEntry.Outcome.STARTED) else TRIED
    phrase = phrases.get(entry.action) or DONE.get(entry.action) or entry.action.replace("-", " ")
    if entry.action.endswith("-finished") and entry.outcome == AuditEntry.Outcome.FAILED:
        phrase = phrase.replace("finished", "failed")
    sentence = format_html(
        phrase.replace("{tag}", "{0}").replace("{digest}", "{1}").replace("{job}", "{2}"), tag, digest, job
    )
    if entry.action.endswith("-finished") and entry.outcome == AuditEntry.Outcome.WARNING:
        sentence = format_html("{} with problems", sentence)
    run = RUN.match(entry.via or "")
    if run and run["job"] != job_id:
        # "acc-admin deleted tag ux/app:v2 via retention run #12"
        sentence = format_html(
            "{} via {}", sentence, _link(_url("job", run["job"]), f"{run['kind']} run #{run['job']}")
        )
    ending = ""
    if entry.outcome == AuditEntry.Outcome.REFUSED:
        ending = ": refused"
    elif entry.outcome == AuditEntry.Outcome.FAILED and not entry.action.endswith("-finished"):
        ending = ": it failed"
    return format_html("<strong>{}</strong> {}{}.", actor, sentence, ending)

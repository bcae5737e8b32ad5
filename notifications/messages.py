"""Announcements in words a person reads at a glance, with a link to the page that shows more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse

from core import notable


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    link: str  # an absolute URL of the dashboard ("" when no page fits)

    @property
    def line(self) -> str:
        """The message in one line, as a digest lists it."""
        return self.text.splitlines()[0] if self.text else self.title


def absolute(path: str) -> str:
    if not path:
        return ""
    return settings.DASHBOARD_URL.rstrip("/") + path


def _page(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"


def _size(value: Any) -> str:
    # filesizeformat joins with a no-break space: plain text for chat and e-mail.
    return str(filesizeformat(value)).replace("\xa0", " ") if isinstance(value, int) else "an unknown amount"


def _job(facts: dict[str, Any]) -> tuple[str, str]:
    label = str(facts.get("job_kind_label") or facts.get("job_kind") or "Job")
    number = facts.get("job")
    result = facts.get("result") if isinstance(facts.get("result"), dict) else {}
    result = result or {}
    asked = f" (asked by {facts['asked_by']})" if facts.get("asked_by") else ""
    if facts.get("status") == "failed":
        return f"{label} #{number} failed", str(facts.get("error") or "It failed without saying why.")
    if facts.get("status") == "warning" and not (facts.get("job_kind") == "verify" and result.get("missing_count")):
        # Ran, but found problems or did only part of its work: never "finished" as if all went well.
        return (
            f"{label} #{number} found problems",
            str(facts.get("error") or "It ended with problems: see the job's page.") + asked,
        )
    kind = facts.get("job_kind")
    if kind == "gc":
        dry = " (dry run)" if result.get("mode") == "dry-run" else ""
        return (
            f"Garbage collection #{number} finished{dry}",
            f"{_size(result.get('bytes_freed'))} freed; {result.get('blobs_eligible', '?')} blobs and "
            f"{result.get('manifests_eligible', '?')} manifests were eligible.",
        )
    if kind == "retention":
        return f"Retention run #{number} finished", str(result.get("summary") or "Nothing to report.")
    if kind == "verify":
        missing = result.get("missing_count") or 0
        if missing:
            return (
                f"Registry verification #{number} found damage",
                f"{missing} manifests or blobs that tags reference are missing: see the job's page for which.",
            )
        return f"Registry verification #{number} passed", "Every tag's manifests and blobs answer."
    return f"{label} #{number} finished", str(result.get("summary") or "It succeeded.")


def compose(kind: str, facts: dict[str, Any]) -> Message:
    """The message for an announcement (``core.notable``)."""
    repository, tag = str(facts.get("repository") or ""), str(facts.get("tag") or "")
    digest = str(facts.get("digest") or "")
    who = facts.get("actor") or facts.get("by")
    by = f" by {who}" if who else ""
    path = str(facts.get("path") or "")
    if kind == notable.PUSH:
        title = f"Pushed {repository}:{tag}"
        text = f"{repository}:{tag} was pushed{by} ({digest[:19]})."
        path = path or _page("catalog:image", repository, tag)
    elif kind == notable.DELETE:
        what = f"{repository}:{tag}" if tag else f"{repository}@{digest[:19]}"
        title = f"Deleted {what}"
        text = f"{what} was deleted{by}."
        path = path or _page("catalog:tags", repository)
    elif kind == notable.JOB_FINISHED:
        title, text = _job(facts)
        path = path or (_page("job", facts["job"]) if isinstance(facts.get("job"), int) else "")
    elif kind == notable.REGISTRY_DOWN:
        title = "The registry does not answer"
        url = facts.get("url", "The registry")
        text = f"{url} has not answered since {facts.get('since', '?')}: {facts.get('detail', '')}"
        path = path or _page("registry")
    elif kind == notable.REGISTRY_UP:
        title = "The registry answers again"
        away = _duration(float(facts.get("down_seconds") or 0))
        text = f"{facts.get('url', 'The registry')} answers again, after {away} down."
        path = path or _page("registry")
    elif kind == notable.DISK_USAGE:
        title = f"The registry's disk is {facts.get('percent')}% full"
        text = (
            f"{_size(facts.get('used_bytes'))} of {_size(facts.get('total_bytes'))} used on the registry's volume: "
            "run a retention policy or a garbage collection."
        )
        path = path or _page("storage")
    elif kind == notable.EVENTS_GAP:
        title = "Registry events were missed"
        text = str(facts.get("detail") or "Some of the registry's notifications did not arrive; a sync catches up.")
        path = path or _page("inventory:activity")
    elif kind == notable.DAMAGE_FOUND:
        title = f"{facts.get('source') or 'A check'} found damage"
        text = str(facts.get("detail") or f"{facts.get('count', '?')} problems found.")
    elif kind == notable.LOGIN_LOCKOUT:
        title = f"Login locked out: {facts.get('username', '?')}"
        text = (
            f"Too many failed logins for {facts.get('username', '?')} from {facts.get('ip', '?')}: locked for "
            f"{facts.get('minutes', '?')} minutes."
        )
        path = path or _page("audit")
    elif kind in (notable.TOKEN_CREATED, notable.ROBOT_CREATED):
        what = "API token" if kind == notable.TOKEN_CREATED else "Robot account"
        title = f"{what} created: {facts.get('name', '?')}"
        owner = f" for {facts['owner']}" if facts.get("owner") else ""
        role = f" with the {facts['role']} role" if facts.get("role") else ""
        text = f"{what} {facts.get('name', '?')!r}{owner}{role} was created{by}."
        path = path or _page("audit")
    elif kind == "test":
        title = "Test message from registry-admin"
        text = (
            f"This is a test of the channel {facts.get('channel', '')!r}, sent by {facts.get('actor') or 'an admin'}."
        )
        path = path or _page("dashboard")
    else:
        title, text = kind, ", ".join(f"{key}={value}" for key, value in sorted(facts.items()))
    link = absolute(path)
    return Message(title=title[:200], text=text + (f"\n{link}" if link else ""), link=link)


def digest(count: int, lines: list[str], topics: list[str], rule_name: str, minutes: int) -> Message:
    """One message for the events a digest gathered."""
    listed = "\n".join(f"- {line}" for line in lines)
    more = f"\n… and {count - len(lines)} more." if count > len(lines) else ""
    title = f"{count} events in {minutes} min ({rule_name})"
    link = absolute(_page("inventory:activity")) if set(topics) <= {"push", "delete"} else absolute(_page("audit"))
    return Message(title=title, text=f"{listed}{more}\n{link}", link=link)

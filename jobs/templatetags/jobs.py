"""Job results for people: one sentence, sizes in units, parameters in words (issue 17)."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat

from jobs import describe
from jobs.models import Job

register = template.Library()

# Result fields as a table shows them; sizes go through filesizeformat.
RESULT_LABELS = {
    "mode": "Mode",
    "version": "Registry",
    "blobs_marked": "Blobs in use",
    "blobs_eligible": "Blobs eligible for deletion",
    "manifests_eligible": "Untagged manifests eligible",
    "bytes_before": "Storage before",
    "bytes_after": "Storage after",
    "bytes_freed": "Freed",
    "bytes_eligible": "A real run would free",
    "read_only_seconds": "Read-only for",
    "downtime_seconds": "Registry down for",
}
SIZES = {"bytes_before", "bytes_after", "bytes_freed", "bytes_eligible"}
SECONDS = {"read_only_seconds", "downtime_seconds"}


@register.filter
def job_outcome(job: Job) -> str:
    return describe.outcome(job)


@register.filter
def job_status(job: Job) -> str:
    """``succeeded``, ``failed``, ... and ``problems found`` for a warning (never read as success)."""
    return "problems found" if job.status == Job.Status.WARNING else str(job.status)


@register.filter
def job_why_nothing(job: Job) -> str:
    return describe.why_nothing(job)


@register.filter
def job_params(job: Job) -> str:
    """``dry run · read-only · with untagged manifests`` for a GC; ``key=value`` for the rest."""
    return describe.params(job)


@register.filter
def job_result_rows(job: Job) -> list[tuple[str, str]]:
    rows = []
    for key, value in (job.result or {}).items():
        if key not in RESULT_LABELS or value is None:
            continue
        if key in SIZES:
            shown = f"{filesizeformat(value)} ({value:,} bytes)" if isinstance(value, int) else str(value)
        elif key in SECONDS:
            shown = f"{float(value):.1f} s"
        else:
            shown = str(value)
        rows.append((RESULT_LABELS[key], shown))
    untagged = (job.result or {}).get("untagged")
    if isinstance(untagged, dict):
        rows.append(
            (
                "Untagged manifests",
                f"{untagged.get('manifests', 0)}; --delete-untagged would free "
                f"{filesizeformat(untagged.get('bytes') or 0)} ({untagged.get('blobs', 0)} blobs)",
            )
        )
    return rows


@register.filter
def lines(text: str) -> list[str]:
    return (text or "").splitlines()

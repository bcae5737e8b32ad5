"""The Registry page (container panel, actions, charts) and the Diagnostics page.

Everything about the container comes from a worker: these views read its snapshot
(``maintenance.snapshot``), or ask one through ``maintenance.services`` and wait a few
seconds for its answer.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import memory
from core.roles import Role, has_role, role_required
from core.types import HtmxHttpRequest
from inventory import files as inventory_files
from inventory import scrub
from jobs import services as job_services
from jobs.models import Job
from maintenance import registry_jobs, services, snapshot, stats
from maintenance.forms import IntervalForm

PANEL_MAX_AGE = 20.0
PANEL_WAIT = 4.0
COLLECT_WAIT = 10.0


@role_required(Role.VIEWER)
def registry(request: HtmxHttpRequest) -> HttpResponse:
    """The charts and the statistics schedule; the container panel is this view's htmx fragment.

    The panel asks a worker for a new snapshot when the recorded one is older than
    PANEL_MAX_AGE seconds, or now with ``?fresh=1`` (the Refresh button).
    """
    if request.htmx:
        max_age = 0.0 if request.GET.get("fresh") else PANEL_MAX_AGE
        return _render_panel(request, services.container_snapshot(max_age=max_age, wait=PANEL_WAIT))
    range_name = request.GET.get("range", "24h")
    if range_name not in stats.CHART_RANGES:
        range_name = "24h"
    schedule = stats.schedule()
    latest = stats.latest()
    context = {
        "range": range_name,
        "ranges": list(stats.CHART_RANGES),
        "chart_data": stats.chart_data(range_name),
        "latest": latest,
        "latest_description": stats.describe(latest) if latest else [],
        "interval_form": IntervalForm(initial={"seconds": stats.interval_seconds(schedule)}),
        "schedule": schedule,
        "is_operator": has_role(request.user, Role.OPERATOR),
        "is_admin": has_role(request.user, Role.ADMIN),
        "retention_days": settings.STATS_RETENTION_DAYS,
        "dashboard_memory": memory.dashboard(),
        "inventory_source": inventory_files.recorded_source(),
        **_registry_jobs_context(),
    }
    return render(request, "maintenance/registry.html", context)


def pause_choices(default: int) -> list[tuple[int, str]]:
    """Durations offered for a snapshot pause, SNAPSHOT_PAUSE_SECONDS among them."""
    choices = sorted({60, 300, 600, 900, 1800, 3600, default})

    def label(seconds: int) -> str:
        if seconds % 60:
            return f"{seconds} seconds"
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"

    return [(seconds, label(seconds)) for seconds in choices]


def _render_panel(request: HtmxHttpRequest, seen: snapshot.Snapshot | None, status: int = 200) -> HttpResponse:
    context = {
        "snapshot": seen,
        "started_at": snapshot.started_at(seen),
        "checked_ago": int(time.time() - seen["checked_at"]) if seen else None,
        "pause": snapshot.active_pause(),
        "is_operator": has_role(request.user, Role.OPERATOR),
        "pause_seconds": snapshot.pause_seconds(None),
        "newer_image": snapshot.newer_image(seen),
        "release_notes": snapshot.release_notes_url((seen or {}).get("version")),
        "pause_choices": pause_choices(snapshot.pause_seconds(None)),
    }
    return render(request, "maintenance/_container.html", context, status=status)


@require_POST
@role_required(Role.OPERATOR)
def registry_action(request: HtmxHttpRequest, action: str) -> HttpResponse:
    """Pause (prepare for snapshot), unpause (Resume) or restart, done by a worker."""
    if action not in services.ACTION_TASKS:
        messages.error(request, f"Unknown action '{action}': pause, unpause or restart.")
        return redirect("registry")
    args: list[object] = []
    if action == "pause":
        try:
            args.append(snapshot.pause_seconds(request.POST.get("seconds")))
        except ValueError as e:
            messages.error(request, str(e))
            return redirect("registry")
    reply = services.container_action(action, request, *args)
    if reply.result is None:
        messages.warning(request, snapshot.NO_WORKER.format(wait=services.ACTION_WAIT[action]))
    elif not reply.result.get("ok"):
        messages.error(request, reply.result.get("error", ""))
    else:
        messages.success(request, _done_message(action, reply.result))
    return redirect("registry")


def _done_message(action: str, result: dict[str, Any]) -> str:
    if action == "pause":
        if result.get("already"):
            return "The registry was already paused; the deadline is unchanged."
        return "The registry is paused: take the NAS snapshot now. It resumes by itself at the deadline."
    if action == "unpause":
        return "The registry is running again."
    return "The registry was restarted."


@require_POST
@role_required(Role.OPERATOR)
def collect_now(request: HtmxHttpRequest) -> HttpResponse:
    """Collect a sample now and come back to the Registry page with its figures (not to a job page)."""
    job = services.collect_stats(request)
    deadline = time.monotonic() + COLLECT_WAIT
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.25)
        job.refresh_from_db()
    if job.status == Job.Status.SUCCEEDED:
        messages.success(request, "Statistics collected: the figures and charts below include them.")
    elif job.status == Job.Status.WARNING:
        messages.warning(request, f"Statistics collected in part (job #{job.pk}): {job.error}")
    elif job.status == Job.Status.FAILED:
        messages.error(request, f"Collecting failed: {job.error}")
    else:
        messages.warning(
            request, f"Collection #{job.pk} is queued: no worker finished it within {COLLECT_WAIT:g} s. Reload later."
        )
    return redirect("registry")


@require_POST
@role_required(Role.ADMIN)
def stats_interval(request: HtmxHttpRequest) -> HttpResponse:
    form = IntervalForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("registry")
    seconds = form.cleaned_data["seconds"]
    services.set_stats_interval(seconds, request)
    messages.success(request, f"Statistics are now collected every {seconds} s.")
    return redirect("registry")


@role_required(Role.VIEWER)
def diagnostics_page(request: HtmxHttpRequest) -> HttpResponse:
    """The page shell; its htmx fragment runs the checks (which wait for a worker)."""
    if request.htmx:
        return render(request, "maintenance/_diagnostics.html", {"report": services.diagnostics_report()})
    return render(request, "maintenance/diagnostics.html")


def _registry_jobs_context() -> dict[str, Any]:
    return {
        "last_update": registry_jobs.latest(Job.Kind.UPDATE),
        "last_verify": registry_jobs.latest(Job.Kind.VERIFY),
        "last_scrub": scrub.latest(),
        "scrub_unavailable": scrub.unavailable(),
    }


#: The registry jobs an operator starts from the Registry page, by the name in the URL.
REGISTRY_JOBS = {"update": services.queue_update, "verify": services.queue_verify}


@require_POST
@role_required(Role.OPERATOR)
def registry_job(request: HtmxHttpRequest, kind: str) -> HttpResponse:
    """Queue an update (or a verification) and show its job; a conflict comes back as a message."""
    queue = REGISTRY_JOBS.get(kind)
    if queue is None:
        messages.error(request, f"Unknown registry job '{kind}': {', '.join(REGISTRY_JOBS)}.")
        return redirect("registry")
    try:
        job = queue(request)
    except job_services.JobRequestError as e:
        messages.error(request, e.message)
        return redirect("registry")
    return redirect(job)


@require_POST
@role_required(Role.ADMIN)
def scrub_now(request: HtmxHttpRequest) -> HttpResponse:
    """Queue a scrub of the storage files (inventory.scrub) and show its job; a refusal comes back as a message."""
    try:
        job = scrub.queue_scrub(request=request)
    except job_services.JobRequestError as e:
        messages.error(request, e.message)
        return redirect(f"{reverse('registry')}#registry-scrub")
    return redirect(job)

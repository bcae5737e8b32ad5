"""The Maintenance page: garbage collection, its schedules, and a job's progress."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.roles import Role, has_role, role_required
from core.types import HtmxHttpRequest
from inventory import jobs as sync_jobs
from inventory import scrub
from inventory import services as inventory_services
from jobs import services as job_services
from jobs.models import Job
from maintenance import diagnostics, gc_requests, schedules, services, snapshot, stats
from maintenance.forms import GcForm, ScheduleForm


def _gc_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    shown_id = request.GET.get("job")
    current = None
    if shown_id and shown_id.isascii() and shown_id.isdigit():
        current = Job.objects.filter(kind=Job.Kind.GC, pk=int(shown_id)).select_related("user").first()
    current = current or gc_requests.active_job()
    last_dry = gc_requests.preview()
    version = snapshot.known_registry_version()
    # The form keeps the options of the run on show (a dry run's, to run it for real next).
    initial = {k: v for k, v in (current.params or {}).items() if k in ("mode", "delete_untagged")} if current else {}
    context = {
        "form": GcForm(initial=initial) if initial else GcForm(),
        "schedule_form": ScheduleForm(),
        "current": current,
        "recent": Job.objects.filter(kind=Job.Kind.GC).select_related("user")[:15],
        "schedules": [
            (task, schedules.cron_of(task), schedules.params_of(task), schedules.next_run(task))
            for task in schedules.all_schedules()
        ],
        "preview": last_dry,
        "preview_blobs": gc_requests.eligible_blobs(last_dry)[:50] if last_dry else [],
        "registry_version": version,
        "registry_is_v2": bool(snapshot.registry_is_v2()),
        "can_run": has_role(request.user, Role.OPERATOR),
        "can_schedule": has_role(request.user, Role.ADMIN),
    }
    context.update(extra)
    return context


@role_required(Role.VIEWER)
def maintenance(request: HttpRequest) -> HttpResponse:
    """Garbage collection: run one, watch it, recent runs, the last dry run's findings, schedules."""
    return render(request, "maintenance/index.html", _gc_context(request))


@require_POST
@role_required(Role.OPERATOR)
def gc_start(request: HttpRequest) -> HttpResponse:
    form = GcForm(request.POST)
    if not form.is_valid():
        return render(request, "maintenance/index.html", _gc_context(request, form=form), status=400)
    params = form.params()
    if not params.dry_run and request.POST.get("confirmed") != "1" and gc_requests.active_job() is None:
        # Every real run restarts the registry (and read-only or stop modes take it out of
        # service meanwhile): say what happens and ask first.
        context = {"params": params, "preview": gc_requests.preview()}
        return render(request, "maintenance/gc_confirm.html", context)
    try:
        job = services.queue_gc(params, request)
    except job_services.JobBusy as e:
        messages.error(request, e.message)
        return render(request, "maintenance/index.html", _gc_context(request, form=form), status=409)
    except (job_services.JobRequestError, gc_requests.GcError) as e:
        messages.error(request, e.message)
        code = 503 if isinstance(e, job_services.JobsUnavailable) else 400
        return render(request, "maintenance/index.html", _gc_context(request, form=form), status=code)
    messages.success(request, f"Garbage collection #{job.pk} queued.")
    return redirect(f"{reverse('maintenance')}?job={job.pk}#current-job")


@require_POST
@role_required(Role.ADMIN)
def schedule_create(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.create_schedule(form.schedule_data(), request)
        except schedules.ScheduleInvalid as e:
            for field, message in e.errors.items():
                form.add_error(field if field in form.fields else None, message)
    if not form.is_valid():
        context = _gc_context(request, schedule_form=form)
        return render(request, "maintenance/index.html", context, status=400)
    messages.success(request, f"Scheduled: garbage collection at '{form.cleaned_data['cron']}'.")
    return redirect(f"{reverse('maintenance')}#schedules")


@require_POST
@role_required(Role.ADMIN)
def schedule_toggle(request: HttpRequest, schedule_id: int) -> HttpResponse:
    task = get_object_or_404(schedules.all_schedules(), pk=schedule_id)
    services.change_schedule(task, {"enabled": not task.enabled}, request)
    return redirect(f"{reverse('maintenance')}#schedules")


@require_POST
@role_required(Role.ADMIN)
def schedule_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    task = get_object_or_404(schedules.all_schedules(), pk=schedule_id)
    services.delete_schedule(task, request)
    messages.success(request, "Schedule deleted.")
    return redirect(f"{reverse('maintenance')}#schedules")


# === The dashboard's summary ==========================================================


@role_required(Role.VIEWER)
def dashboard_summary(request: HtmxHttpRequest) -> HttpResponse:
    """Diagnostics (failed and warned checks first), storage with its meaning, counts, the last GC.

    The dashboard (core, which imports no app) loads this fragment.
    """
    report = services.diagnostics_report()
    problems = sorted((c for c in report.checks if not c.ok), key=lambda c: c.level != diagnostics.ERROR)
    finished = Job.objects.filter(kind=Job.Kind.GC).exclude(finished_at=None).order_by("-finished_at")
    context = {
        "report": report,
        "problems": problems,
        "passed": sum(c.ok for c in report.checks),
        "sample": stats.latest(),
        "last_gc": finished.filter(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).select_related("user").first(),
        "last_real_gc": finished.filter(status=Job.Status.SUCCEEDED, params__dry_run=False).first(),
        # Tag pushes and deletes the registry reported (not pulls, nor the push of every blob): the last few.
        "activity": list(
            inventory_services.recent_events({}).exclude(action="pull").exclude(action="push", tag="")[:5]
        ),
        "events_gaps": inventory_services.open_gaps(),
        # Damage the newest scrub found, until a later scrub clears it (issue 24).
        "scrub_findings": scrub.latest_findings(),
    }
    return render(request, "maintenance/_dashboard_summary.html", context)


@role_required(Role.OPERATOR)
@require_POST
def sync_now(request: HtmxHttpRequest) -> HttpResponse:
    """The pages' "Sync now": queue an inventory sync (or say which one runs), back to the page."""
    try:
        job = sync_jobs.queue_sync(request=request)
        messages.success(request, f"Sync job {job.pk} queued: the page shows when it ends.")
    except job_services.JobBusy as e:
        messages.info(request, e.message)
    except job_services.JobRequestError as e:
        messages.error(request, e.message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("catalog:repositories")
    return redirect(target)

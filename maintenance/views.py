from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import audit
from core.roles import Role, has_role, role_required
from core.types import HtmxHttpRequest
from maintenance import diagnostics, gc, schedules, stats
from maintenance.forms import GcForm, ScheduleForm
from maintenance.models import Job


@role_required(Role.VIEWER)
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """A job with its output; while it runs, the htmx fragment of this view refreshes itself."""
    job = get_object_or_404(Job.objects.select_related("user"), pk=job_id)
    template = "maintenance/_job.html" if request.htmx else "maintenance/job.html"
    return render(request, template, {"job": job})


# === Garbage collection (issue 5) ======================================================


def _gc_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    shown_id = request.GET.get("job")
    current = None
    if shown_id and shown_id.isascii() and shown_id.isdigit():
        current = Job.objects.filter(kind=Job.Kind.GC, pk=int(shown_id)).select_related("user").first()
    current = current or gc.active_job()
    last_dry = gc.preview()
    version = gc.known_registry_version()
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
        "preview_blobs": gc.eligible_blobs(last_dry)[:50] if last_dry else [],
        "registry_version": version,
        "registry_is_v2": bool(gc.registry_is_v2()),
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
    if not params.dry_run and request.POST.get("confirmed") != "1" and gc.active_job() is None:
        # Every real run restarts the registry (and read-only or stop modes take it out of
        # service meanwhile): say what happens and ask first.
        return render(request, "maintenance/gc_confirm.html", {"params": params, "preview": gc.preview()})
    try:
        job = gc.request_gc(params, request=request)
    except gc.GcConflict as e:
        messages.error(request, e.message)
        return render(request, "maintenance/index.html", _gc_context(request, form=form), status=409)
    except gc.GcError as e:
        messages.error(request, e.message)
        code = 503 if isinstance(e, gc.GcUnavailable) else 400
        return render(request, "maintenance/index.html", _gc_context(request, form=form), status=code)
    messages.success(request, f"Garbage collection #{job.pk} queued.")
    return redirect(f"{reverse('maintenance')}?job={job.pk}#current-job")


@require_POST
@role_required(Role.ADMIN)
def schedule_create(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedules.create(form.schedule_data())
        except schedules.ScheduleInvalid as e:
            for field, message in e.errors.items():
                form.add_error(field if field in form.fields else None, message)
    if not form.is_valid():
        context = _gc_context(request, schedule_form=form)
        return render(request, "maintenance/index.html", context, status=400)
    audit.record(action="gc-schedule-created", outcome="succeeded", request=request, detail=str(form.schedule_data()))
    messages.success(request, f"Scheduled: garbage collection at '{form.cleaned_data['cron']}'.")
    return redirect(f"{reverse('maintenance')}#schedules")


@require_POST
@role_required(Role.ADMIN)
def schedule_toggle(request: HttpRequest, schedule_id: int) -> HttpResponse:
    task = get_object_or_404(schedules.all_schedules(), pk=schedule_id)
    schedules.update(task, {"enabled": not task.enabled})
    audit.record(
        action="gc-schedule-changed",
        outcome="succeeded",
        request=request,
        detail=f"schedule {task.pk} {'enabled' if task.enabled else 'disabled'}",
    )
    return redirect(f"{reverse('maintenance')}#schedules")


@require_POST
@role_required(Role.ADMIN)
def schedule_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    task = get_object_or_404(schedules.all_schedules(), pk=schedule_id)
    detail = f"schedule {task.pk} '{schedules.cron_of(task)}'"
    task.delete()
    audit.record(action="gc-schedule-deleted", outcome="succeeded", request=request, detail=detail)
    messages.success(request, "Schedule deleted.")
    return redirect(f"{reverse('maintenance')}#schedules")


# === The dashboard's summary (issue 17) ================================================


@role_required(Role.VIEWER)
def dashboard_summary(request: HtmxHttpRequest) -> HttpResponse:
    """Diagnostics (failed and warned checks first), storage with its meaning, counts, the last GC.

    The dashboard (core, which imports no app) loads this fragment.
    """
    report = diagnostics.run()
    problems = sorted((c for c in report.checks if not c.ok), key=lambda c: c.level != diagnostics.ERROR)
    last_gc = (
        Job.objects.filter(kind=Job.Kind.GC, status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED])
        .order_by("-finished_at")
        .select_related("user")
        .first()
    )
    context = {
        "report": report,
        "problems": problems,
        "passed": sum(c.ok for c in report.checks),
        "sample": stats.latest(),
        "last_gc": last_gc,
        "last_real_gc": Job.objects.filter(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params__dry_run=False)
        .order_by("-finished_at")
        .first(),
    }
    return render(request, "maintenance/_dashboard_summary.html", context)

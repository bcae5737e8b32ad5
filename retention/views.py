"""The Retention page: the policies, a form to create and edit them (admins), a preview of what a
run deletes and why, and Run (operators), which sends the preview's fingerprint."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.form_pages import delete_and_go, save_edit
from core.roles import Role, has_role, role_required
from core.types import HtmxHttpRequest
from jobs.services import JobRequestError
from retention import plan, requests, schedules, services
from retention.forms import PolicyForm
from retention.models import RetentionPolicy


def _previewed_key(policy: RetentionPolicy) -> str:
    return f"retention-previewed-{policy.pk}"


def _previewed(request: HttpRequest, policy: RetentionPolicy) -> bool:
    """Whether this person previewed the policy as it is saved now (a change since needs another)."""
    return bool(policy.pk) and request.session.get(_previewed_key(policy)) == policy.updated_at.isoformat()


def _policy_context(request: HttpRequest, policy: RetentionPolicy, **extra: Any) -> dict[str, Any]:
    context = {
        "policy": policy,
        "form": PolicyForm(instance=policy),
        "next_run": schedules.next_run(policy),
        "runs": services.recent_runs(policy),
        "active": requests.active_run(policy),
        "can_run": has_role(request.user, Role.OPERATOR),
        "can_edit": has_role(request.user, Role.ADMIN),
    }
    context.update(extra)
    return context


@role_required(Role.VIEWER)
def policies(request: HttpRequest) -> HttpResponse:
    rows = [(p, schedules.next_run(p)) for p in RetentionPolicy.objects.select_related("periodic_task__crontab")]
    context = {
        "rows": rows,
        "form": PolicyForm(),
        "runs": services.recent_runs(),
        "can_edit": has_role(request.user, Role.ADMIN),
    }
    return render(request, "retention/index.html", context)


@require_POST
@role_required(Role.ADMIN)
def policy_create(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST)
    if not form.is_valid():
        rows = [(p, schedules.next_run(p)) for p in RetentionPolicy.objects.all()]
        context = {"rows": rows, "form": form, "runs": services.recent_runs(), "can_edit": True, "form_open": True}
        return render(request, "retention/index.html", context, status=400)
    policy = services.save_policy(form.save(commit=False), request, created=True)
    messages.success(request, f"Policy {policy.name} created: preview it before running it.")
    return redirect(policy.get_absolute_url())


@role_required(Role.VIEWER)
def policy(request: HttpRequest, policy_id: int) -> HttpResponse:
    found = get_object_or_404(RetentionPolicy, pk=policy_id)
    return render(request, "retention/policy.html", _policy_context(request, found))


@require_POST
@role_required(Role.ADMIN)
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    found = get_object_or_404(RetentionPolicy, pk=policy_id)

    def refused(form: Any) -> HttpResponse:
        context = _policy_context(request, found, form=form, form_open=True)
        return render(request, "retention/policy.html", context, status=400)

    form = PolicyForm(request.POST, instance=found, previewed=_previewed(request, found))
    return save_edit(
        request, found, form, services.save_policy, refused, said="Policy saved.", then=found.get_absolute_url()
    )


@require_POST
@role_required(Role.ADMIN)
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    found = get_object_or_404(RetentionPolicy, pk=policy_id)
    return delete_and_go(
        request, found, services.delete_policy, said=f"Policy {found.name} deleted.", then="retention:policies"
    )


@require_POST
@role_required(Role.OPERATOR)
def preview(request: HtmxHttpRequest, policy_id: int) -> HttpResponse:
    """What a run deletes, per repository, with the reasons and the totals (an htmx fragment)."""
    found = get_object_or_404(RetentionPolicy, pk=policy_id)
    template = "retention/_preview.html" if request.htmx else "retention/policy.html"
    try:
        shown = services.preview(found)
    except plan.PlanUnavailable as e:
        context = _policy_context(request, found, preview_error=e.message)
        return render(request, template, context, status=e.status)
    request.session[_previewed_key(found)] = found.updated_at.isoformat()
    return render(request, template, _policy_context(request, found, preview=shown))


@require_POST
@role_required(Role.OPERATOR)
def run(request: HttpRequest, policy_id: int) -> HttpResponse:
    found = get_object_or_404(RetentionPolicy, pk=policy_id)
    fingerprint = request.POST.get("fingerprint", "")[:64]
    try:
        job = services.queue_run(found, fingerprint, request)
    except JobRequestError as e:
        messages.error(request, e.message)
        return render(request, "retention/policy.html", _policy_context(request, found), status=e.status)
    messages.success(request, f"Retention run #{job.pk} queued.")
    return redirect(job.get_absolute_url())

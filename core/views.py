from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import audit, health
from core.forms import AuditFilterForm
from core.models import AuditEntry
from core.roles import Role, role_required
from core.types import HtmxHttpRequest


@role_required(Role.VIEWER)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """The dashboard shell; its health panel is the htmx fragment of the same view."""
    if request.htmx:
        report = health.report()
        return render(request, "core/_health.html", {"report": report})
    return render(request, "core/dashboard.html")


@role_required(Role.VIEWER)
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    """The audit log with filters; the table is the htmx fragment of the same view."""
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        status = 400
        entries = AuditEntry.objects.none()
    else:
        status = 200
        entries = audit.filtered(form.cleaned_data if form.is_bound else {})
    page = Paginator(entries.select_related("user"), 50).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "actions": audit.known_actions()}
    template = "core/_audit_table.html" if request.htmx else "core/audit.html"
    return render(request, template, context, status=status)


@login_not_required
@never_cache
@require_GET
def alive(request: HttpRequest) -> HttpResponse:
    """Liveness for the container health check: the one page without a login.

    Docker's HEALTHCHECK runs inside the container with no session or token, so this
    answers ``ok`` when the web process serves requests, and nothing else: no registry,
    engine or database state (that is ``/api/v1/health/``, behind a login).
    """
    return HttpResponse("ok", content_type="text/plain")

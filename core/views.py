from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

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

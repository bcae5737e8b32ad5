from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import audit, connection, health, tokens
from core.forms import AuditFilterForm, ConnectionTestForm, TokenForm
from core.masking import mask_url
from core.models import ApiToken, AuditEntry
from core.roles import Role, role_required
from core.types import HtmxHttpRequest


@role_required(Role.VIEWER)
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """The dashboard shell; its health panel is the htmx fragment of the same view.

    While the registry cannot be reached the panel is the setup section (issue 25's first run):
    what REGISTRY_URL is, where to set it, the localhost trap, and a "Test connection" for admins.
    """
    if request.htmx:
        report = health.report()
        context = {"report": report, "registry_url_shown": mask_url(settings.REGISTRY_URL)}
        if not report["registry"].ok:
            context["connection_form"] = ConnectionTestForm(initial={"url": ""})
        return render(request, "core/_health.html", context)
    return render(request, "core/dashboard.html")


@require_POST
@role_required(Role.ADMIN)
def test_connection(request: HtmxHttpRequest) -> HttpResponse:
    """Try a typed registry address once (``core.connection``): the answer in words, nothing saved.

    The htmx form of the setup section and of the Registry page gets the result fragment; a
    plain POST gets a page. Bad input is a 400 naming the field.
    """
    form = ConnectionTestForm(request.POST)
    result = connection.try_address(form.cleaned_data["url"]) if form.is_valid() else None
    context = {"connection_form": form, "result": result}
    template = "core/_connection_test.html" if request.htmx else "core/connection_test.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


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


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens; a POST makes one and shows its secret on this answer only."""
    roles = [role.group_name for role in tokens.allowed_roles(request.user)]
    form = TokenForm(request.POST or None, roles=roles)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            expires_at = timezone.now() + timedelta(days=days) if days else None
            try:
                _token, new_token = tokens.create(
                    request.user,
                    form.cleaned_data["name"],
                    form.cleaned_data["role"],
                    expires_at=expires_at,
                    request=request,
                )
            except tokens.TokenInvalid as e:
                for field, message in e.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                form = TokenForm(roles=roles)
        if new_token is None:
            status = 400
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=request.user),  # type: ignore[misc]
        "roles": roles,
        "now": timezone.now(),
    }
    return render(request, "core/tokens.html", context, status=status)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    name = token.name
    tokens.revoke(token, request=request)
    messages.success(request, f"Token {name!r} revoked: scripts using it now get 401.")
    return redirect("tokens")

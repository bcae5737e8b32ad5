"""The token endpoint the registry sends docker clients to, the certificate it trusts, and the
pages: robots, anonymous pulls, the token requests. Thin: services and tokens do the work."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access import services, signing, tokens
from access.forms import AnonymousRuleForm, RobotForm, TokenRequestFilterForm
from access.models import AnonymousPullRule, Robot, TokenRequest
from core.roles import Role, role_required
from core.types import HtmxHttpRequest

REQUESTS_PER_PAGE = 100


@login_not_required  # docker clients authenticate here with HTTP Basic, not a session
@csrf_exempt  # GET only; a POST (OAuth2's password grant) is 405, and docker then uses GET
@never_cache
@require_GET
def token(request: HttpRequest) -> HttpResponse:
    """``GET /auth/token?service=...&scope=...``: Docker's token authentication (docs/spec/auth/token.md)."""
    answer = tokens.answer(request)
    # django-axes marks a request that reached the failure limit, and its middleware would then answer
    # with the login page: the token endpoint answers JSON itself (429, above).
    request.axes_locked_out = False  # type: ignore[attr-defined]
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


@login_not_required  # public by nature: the registry (and its admin) fetch it to trust the tokens
@require_GET
def certificate(request: HttpRequest) -> HttpResponse:
    """The certificate of the token signing key: the registry's ``auth.token.rootcertbundle``."""
    response = HttpResponse(signing.signing_key().certificate_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="registry-token.pem"'
    return response


def _access_context(**extra: Any) -> dict[str, Any]:
    return {
        "robots": services.robots(),
        "anonymous_rules": services.anonymous_rules(),
        "realm": settings.REGISTRY_TOKEN_REALM,
        "service": settings.REGISTRY_TOKEN_SERVICE,
        "issuer": settings.REGISTRY_TOKEN_ISSUER,
        "ttl": settings.REGISTRY_TOKEN_TTL,
        "registry_public_host": settings.REGISTRY_PUBLIC_HOST,
        "robot_form": RobotForm(),
        "anonymous_form": AnonymousRuleForm(),
        "login_required": services.login_required(),
        "latest_switch": services.latest_switch(),
        "token_env": services.token_env("<storage root>"),
        **extra,
    }


@role_required(Role.ADMIN)
@never_cache
@require_http_methods(["GET", "POST"])
def robots(request: HttpRequest) -> HttpResponse:
    """The Access page: robots, anonymous pulls, the registry's token settings. POST makes a robot."""
    if request.method != "POST":
        return render(request, "access/robots.html", _access_context())
    form = RobotForm(request.POST)
    if form.is_valid():
        try:
            robot, secret = services.create_robot(
                form.cleaned_data["name"],
                form.cleaned_data["rules"],
                description=form.cleaned_data["description"],
                expires_at=form.expires_at(),
                request=request,
            )
        except services.AccessInvalid as e:
            for field, message in e.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            context = _access_context(new_robot=robot, new_secret=secret)
            return render(request, "access/robots.html", context, status=201)
    return render(request, "access/robots.html", _access_context(robot_form=form), status=400)


@role_required(Role.ADMIN)
@require_POST
def robot_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    robot = get_object_or_404(Robot, pk=pk)
    services.revoke_robot(robot, request)
    messages.success(
        request,
        f"{robot.login} revoked: it gets no new token; tokens it holds run out within {settings.REGISTRY_TOKEN_TTL} s.",
    )
    return redirect("access:robots")


@role_required(Role.ADMIN)
@require_POST
def robot_delete(request: HttpRequest, pk: int) -> HttpResponse:
    robot = get_object_or_404(Robot, pk=pk)
    services.delete_robot(robot, request)
    messages.success(request, f"{robot.login} deleted.")
    return redirect("access:robots")


@role_required(Role.ADMIN)
@require_POST
def anonymous_add(request: HttpRequest) -> HttpResponse:
    form = AnonymousRuleForm(request.POST)
    if form.is_valid():
        try:
            services.add_anonymous_rule(form.cleaned_data["repositories"], request)
        except services.AccessInvalid as e:
            form.add_error("repositories", e.errors["repositories"])
        else:
            messages.success(request, f"Anyone may now pull {form.cleaned_data['repositories']}.")
            return redirect("access:robots")
    return render(request, "access/robots.html", _access_context(anonymous_form=form), status=400)


@role_required(Role.ADMIN)
@require_POST
def anonymous_remove(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AnonymousPullRule, pk=pk)
    services.remove_anonymous_rule(rule, request)
    messages.success(request, f"Anonymous pulls of {rule.repositories} end when the tokens already issued run out.")
    return redirect("access:robots")


@role_required(Role.VIEWER)
def token_requests(request: HtmxHttpRequest) -> HttpResponse:
    """Activity > Token requests: who asked the token endpoint for what, and what they got."""
    form = TokenRequestFilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        status, found = 400, TokenRequest.objects.none()
    else:
        found = services.token_requests(form.cleaned_data if form.is_bound else {})
    page = Paginator(found, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "retention_days": settings.EVENTS_RETENTION_DAYS}
    if not request.htmx:
        context |= {"counters": tokens.counters(), "anon_rate": settings.REGISTRY_TOKEN_ANON_RATE}
    template = "access/_token_requests_table.html" if request.htmx else "access/token_requests.html"
    return render(request, template, context, status=status)


@role_required(Role.ADMIN)
@require_POST
def registry_login(request: HttpRequest) -> HttpResponse:
    """Queue the guided switch ("enable": "true" requires login, "false" stops requiring it)."""
    enable = request.POST.get("enable") == "true"
    try:
        job = services.request_switch(enable, request)
    except services.SwitchRefused as e:
        messages.error(request, e.message)
        return redirect(f"{reverse('access:robots')}#registry-login")
    return redirect(job.get_absolute_url())

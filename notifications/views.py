"""The Notifications page (admins): channels, rules, each channel's delivery log, "Send a test";
and the home page's fragment naming the channels that keep failing (everyone)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.form_pages import delete_and_go, save_edit
from core.roles import Role, has_role, role_required
from notifications import services
from notifications.forms import ChannelForm, RuleForm
from notifications.masking import mask_url
from notifications.models import Channel, Rule


def _index_context(**extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "channels": [(channel, mask_url(channel.url)) for channel in Channel.objects.all()],
        "rules": Rule.objects.select_related("channel"),
        "channel_form": ChannelForm(),
        "rule_form": RuleForm(),
    }
    context.update(extra)
    return context


@role_required(Role.ADMIN)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/index.html", _index_context())


@require_POST
@role_required(Role.ADMIN)
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST, request_host=request.get_host())
    if not form.is_valid():
        return render(
            request, "notifications/index.html", _index_context(channel_form=form, channel_open=True), status=400
        )
    channel, secret = services.create_channel(
        {name: form.cleaned_data[name] for name in services.CHANNEL_FIELDS}, request
    )
    messages.success(request, f"Channel {channel.name} created: send a test to check it.")
    return _channel_page(request, channel, new_secret=secret)


def _channel_page(request: HttpRequest, channel: Channel, status: int = 200, **extra: Any) -> HttpResponse:
    page = Paginator(services.deliveries(channel), 50).get_page(request.GET.get("page"))
    context = {
        "channel": channel,
        "masked_url": mask_url(channel.url),
        "form": ChannelForm(instance=channel),
        "page": page,
        "rules": channel.rules.all(),
    }
    context.update(extra)
    return render(request, "notifications/channel.html", context, status=status)


@never_cache
@role_required(Role.ADMIN)
def channel(request: HttpRequest, channel_id: int) -> HttpResponse:
    return _channel_page(request, get_object_or_404(Channel, pk=channel_id))


@require_POST
@role_required(Role.ADMIN)
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    found = get_object_or_404(Channel, pk=channel_id)
    form = ChannelForm(request.POST, instance=found, request_host=request.get_host())
    if not form.is_valid():
        found.refresh_from_db()
        return _channel_page(request, found, status=400, form=form, form_open=True)
    _, secret = services.update_channel(
        found, {name: form.cleaned_data[name] for name in services.CHANNEL_FIELDS}, request
    )
    messages.success(request, "Channel saved.")
    if secret:  # it became a webhook: its signing secret, this once
        return _channel_page(request, found, new_secret=secret)
    return redirect(found.get_absolute_url())


@require_POST
@role_required(Role.ADMIN)
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    found = get_object_or_404(Channel, pk=channel_id)
    said = f"Channel {found.name} deleted, with its rules and delivery log."
    return delete_and_go(request, found, services.delete_channel, said=said, then="notifications:index")


@require_POST
@role_required(Role.ADMIN)
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    found = get_object_or_404(Channel, pk=channel_id)
    delivery = services.send_test(found, request)
    messages.success(request, f"Test message #{delivery.pk} queued: its outcome appears in the log below.")
    return redirect(found.get_absolute_url())


@require_POST
@role_required(Role.ADMIN)
def channel_rotate(request: HttpRequest, channel_id: int) -> HttpResponse:
    found = get_object_or_404(Channel, pk=channel_id, kind=Channel.Kind.WEBHOOK)
    secret = services.rotate_secret(found, request)
    messages.success(request, "New signing secret made: the old one no longer verifies.")
    return _channel_page(request, found, new_secret=secret)


@require_POST
@role_required(Role.ADMIN)
def rule_create(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST)
    if not form.is_valid():
        return render(request, "notifications/index.html", _index_context(rule_form=form, rule_open=True), status=400)
    rule = services.save_rule(form.save(commit=False), request, created=True)
    messages.success(request, f"Rule {rule.name} created.")
    return redirect("notifications:index")


@role_required(Role.ADMIN)
def rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    found = get_object_or_404(Rule, pk=rule_id)
    return render(request, "notifications/rule.html", {"rule": found, "form": RuleForm(instance=found)})


@require_POST
@role_required(Role.ADMIN)
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    found = get_object_or_404(Rule, pk=rule_id)

    def refused(form: Any) -> HttpResponse:
        return render(request, "notifications/rule.html", {"rule": found, "form": form}, status=400)

    form = RuleForm(request.POST, instance=found)
    return save_edit(request, found, form, services.save_rule, refused, said="Rule saved.", then="notifications:index")


@require_POST
@role_required(Role.ADMIN)
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    found = get_object_or_404(Rule, pk=rule_id)
    return delete_and_go(
        request, found, services.delete_rule, said=f"Rule {found.name} deleted.", then="notifications:index"
    )


@require_GET
@role_required(Role.VIEWER)
def failing(request: HttpRequest) -> HttpResponse:
    """The home page's fragment: channels whose messages keep failing."""
    context = {"failing": services.failing_channels(), "can_fix": has_role(request.user, Role.ADMIN)}
    return render(request, "notifications/_failing.html", context)

"""What the Notifications page and the API ask: channels and rules saved and audited (URLs masked),
a test message queued, the delivery log read. Nothing here sends: deliveries run on a worker."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from core import audit, worker
from notifications import dispatch, task_names
from notifications.masking import mask_url
from notifications.models import Channel, Delivery, Rule

CHANNEL_FIELDS = ("name", "kind", "url", "cloudevents", "enabled")
RULE_FIELDS = ("name", "channel", "topics", "repositories", "tags", "disk_threshold", "digest_minutes", "enabled")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def describe_channel(channel: Channel) -> str:
    extra = ", CloudEvents" if channel.cloudevents else ""
    state = "" if channel.enabled else ", disabled"
    return f"channel {channel.pk} {channel.name!r}: {channel.kind} {mask_url(channel.url)}{extra}{state}"


def describe_rule(rule: Rule) -> str:
    return (
        f"rule {rule.pk} {rule.name!r}: {', '.join(rule.topics)} to channel {rule.channel_id}"
        f"{' for ' + ' '.join(rule.repositories) if rule.repositories else ''}"
        f"{' tags ' + rule.tags if rule.tags else ''}"
        f"{f', digest every {rule.digest_minutes} min' if rule.digest_minutes else ''}"
        f"{'' if rule.enabled else ', disabled'}"
    )


def create_channel(fields: dict[str, Any], request: HttpRequest) -> tuple[Channel, str]:
    """A new channel and its webhook secret (shown once; "" for Apprise channels)."""
    channel = Channel(**fields)
    secret = new_secret() if channel.kind == Channel.Kind.WEBHOOK else ""
    channel.secret = secret
    with transaction.atomic():
        channel.save()
        audit.record(
            action="notification-channel-created",
            outcome="succeeded",
            request=request,
            detail=describe_channel(channel),
        )
    return channel, secret


def update_channel(channel: Channel, fields: dict[str, Any], request: HttpRequest) -> tuple[Channel, str]:
    """Save the changes; a channel that became a webhook gets a signing secret, returned (shown once)."""
    for name, value in fields.items():
        setattr(channel, name, value)
    made = ""
    if channel.kind == Channel.Kind.APPRISE:
        channel.secret = ""
        channel.cloudevents = False
    elif not channel.secret:
        channel.secret = made = new_secret()
    with transaction.atomic():
        channel.save()
        audit.record(
            action="notification-channel-changed",
            outcome="succeeded",
            request=request,
            detail=describe_channel(channel),
        )
    return channel, made


def rotate_secret(channel: Channel, request: HttpRequest) -> str:
    """A new signing secret for a webhook channel, shown once."""
    channel.secret = new_secret()
    with transaction.atomic():
        channel.save(update_fields=["secret", "updated_at"])
        audit.record(
            action="notification-secret-rotated", outcome="succeeded", request=request, detail=describe_channel(channel)
        )
    return channel.secret


def delete_channel(channel: Channel, request: HttpRequest) -> None:
    detail = describe_channel(channel)
    with transaction.atomic():
        channel.delete()
        audit.record(action="notification-channel-deleted", outcome="succeeded", request=request, detail=detail)


def send_test(channel: Channel, request: HttpRequest) -> Delivery:
    """Queue a test message on ``channel`` (QueueUnavailable when Redis does not take it)."""
    with transaction.atomic():
        delivery = dispatch.test_delivery(channel, request.user.get_username())
        audit.record(
            action="notification-test",
            outcome="started",
            request=request,
            detail=f"delivery {delivery.pk} on {describe_channel(channel)}",
        )
    worker.send(task_names.DELIVER, delivery.pk)
    return delivery


def save_rule(rule: Rule, request: HttpRequest, *, created: bool) -> Rule:
    with transaction.atomic():
        rule.save()
        audit.record(
            action="notification-rule-created" if created else "notification-rule-changed",
            outcome="succeeded",
            request=request,
            detail=describe_rule(rule),
        )
    return rule


def delete_rule(rule: Rule, request: HttpRequest) -> None:
    detail = describe_rule(rule)
    with transaction.atomic():
        rule.delete()
        audit.record(action="notification-rule-deleted", outcome="succeeded", request=request, detail=detail)


def deliveries(channel: Channel) -> QuerySet[Delivery]:
    return channel.deliveries.select_related("rule")


def failing_channels() -> QuerySet[Channel]:
    return Channel.objects.filter(failing_since__isnull=False, enabled=True)

"""Sending one message on one channel (worker side): Apprise, or our signed webhook.

Apprise (https://github.com/caronc/apprise) speaks to about a hundred services through one
URL each; we do not write our own clients for them. The webhook is ours, for scripts: one
JSON body per message, optionally a CloudEvents 1.0 structured event (the ``cloudevents``
SDK, whose 2.x core has no dependency beyond ``python-dateutil`` and ``deprecation``), signed
with HMAC-SHA256 over the exact body bytes in ``X-Registry-Admin-Signature: sha256=<hex>``.

Every error is raised as ``DeliveryFailed`` with a message in which no piece of the
channel's URL or secret appears (``notifications.masking.redact``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

import apprise
import requests
from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from notifications import destinations
from notifications.masking import pieces, redact
from notifications.models import Channel, Delivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Registry-Admin-Signature"
EVENT_TYPE_PREFIX = "dev.registry-admin."
USER_AGENT = "registry-admin-notifications/1"


class DeliveryFailed(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Sent:
    status_code: int | None


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(delivery: Delivery) -> dict[str, Any]:
    """The webhook's JSON body (and a CloudEvent's data)."""
    return {
        "id": f"registry-admin-delivery-{delivery.pk}",
        "topic": delivery.topic,
        "title": delivery.title,
        "text": delivery.text,
        "link": delivery.link,
        "facts": delivery.facts,
        "time": delivery.created_at.isoformat(),
        "dashboard": settings.DASHBOARD_URL,
    }


def webhook_request(channel: Channel, delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    """The body and headers a webhook delivery sends."""
    data = payload(delivery)
    if channel.cloudevents:
        attributes: dict[str, Any] = {
            "id": data["id"],
            "source": settings.DASHBOARD_URL,
            "type": EVENT_TYPE_PREFIX + delivery.topic,
            "time": delivery.created_at,
            "datacontenttype": "application/json",
        }
        subject = _subject(delivery.facts)
        if subject:
            attributes["subject"] = subject
        message = to_structured_event(CloudEvent(attributes, data), JSONFormat())
        body, content_type = message.body, message.headers["content-type"]
    else:
        body, content_type = json.dumps(data, sort_keys=True).encode(), "application/json"
    headers = {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Registry-Admin-Topic": delivery.topic,
        "X-Registry-Admin-Delivery": str(delivery.pk),
    }
    if channel.secret:
        headers[SIGNATURE_HEADER] = sign(channel.secret, body)
    return body, headers


def _subject(facts: dict[str, Any]) -> str:
    repository = str(facts.get("repository") or "")
    if not repository:
        return f"job/{facts['job']}" if facts.get("job") else ""
    if facts.get("tag"):
        return f"{repository}:{facts['tag']}"
    return f"{repository}@{facts['digest']}" if facts.get("digest") else repository


def send(channel: Channel, delivery: Delivery) -> Sent:
    """Deliver once; DeliveryFailed (masked message) when it did not arrive."""
    secrets = pieces(channel.url, channel.secret)
    try:
        destinations.check(channel.url)
    except destinations.DestinationRefused as e:
        raise DeliveryFailed(redact(e.message, secrets)) from None
    if channel.kind == Channel.Kind.WEBHOOK:
        return _send_webhook(channel, delivery, secrets)
    return _send_apprise(channel, delivery, secrets)


def _send_webhook(channel: Channel, delivery: Delivery, secrets: list[str]) -> Sent:
    body, headers = webhook_request(channel, delivery)
    try:
        # No redirects: a redirect could lead past the destination check.
        response = requests.post(
            channel.url, data=body, headers=headers, timeout=settings.NOTIFICATIONS_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as e:
        raise DeliveryFailed(redact(f"{type(e).__name__}: {e}", secrets)) from None
    if not 200 <= response.status_code < 300:
        excerpt = response.text[:200].strip()
        raise DeliveryFailed(
            redact(f"The webhook answered {response.status_code}{': ' + excerpt if excerpt else ''}", secrets),
            status_code=response.status_code,
        )
    return Sent(response.status_code)


def _send_apprise(channel: Channel, delivery: Delivery, secrets: list[str]) -> Sent:
    notifier = apprise.Apprise()
    if not notifier.add(channel.url):
        raise DeliveryFailed("Apprise does not understand this channel's URL: check it on Apprise's wiki.")
    with apprise.LogCapture(level=logging.WARNING) as output:
        sent = notifier.notify(title=delivery.title, body=delivery.text)
    if not sent:
        said = " ".join(line.split(" - ", 2)[-1] for line in output.getvalue().splitlines() if line.strip())
        raise DeliveryFailed(redact(said[-500:] or "Apprise could not send the message.", secrets))
    return Sent(None)


def understood(url: str) -> bool:
    """Whether Apprise knows the URL's service and can read it."""
    return apprise.Apprise.instantiate(url) is not None


def backoff(attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, at most an hour."""
    return int(min(3600, settings.NOTIFICATIONS_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def attempt(delivery_id: int) -> int | None:
    """Try a delivery once and record how it went; the seconds to wait before trying again, or
    None when it is done (sent, failed for good, or gone)."""
    delivery = Delivery.objects.select_related("channel").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (Delivery.Status.SENT, Delivery.Status.FAILED):
        return None
    channel = delivery.channel
    attempts = delivery.attempts + 1
    try:
        sent = send(channel, delivery)
    except DeliveryFailed as e:
        return _failed(delivery, attempts, e.message, e.status_code)
    except Exception as e:  # a bug or a library's surprise: recorded, never raised into the worker's loop
        logger.exception("Delivery %s to channel %s: unexpected error", delivery.pk, channel.pk)
        message = redact(f"Unexpected error: {type(e).__name__}: {e}", pieces(channel.url, channel.secret))
        return _failed(delivery, attempts, message, None)
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, attempts=attempts, status_code=sent.status_code, error="", finished_at=now
    )
    Channel.objects.filter(pk=channel.pk).update(consecutive_failures=0, failing_since=None, last_success_at=now)
    return None


def _failed(delivery: Delivery, attempts: int, message: str, status_code: int | None) -> int | None:
    final = attempts >= settings.NOTIFICATIONS_ATTEMPTS
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED if final else Delivery.Status.RETRYING,
        attempts=attempts,
        status_code=status_code,
        error=message[:2000],
        finished_at=now if final else None,
    )
    logger.warning(
        "Delivery %s to channel %s (%s), attempt %d of %d: %s",
        delivery.pk,
        delivery.channel_id,
        delivery.channel.name,
        attempts,
        settings.NOTIFICATIONS_ATTEMPTS,
        message,
    )
    if not final:
        return backoff(attempts)
    Channel.objects.filter(pk=delivery.channel_id).update(
        consecutive_failures=F("consecutive_failures") + 1, last_error=message[:2000]
    )
    Channel.objects.filter(
        pk=delivery.channel_id,
        failing_since__isnull=True,
        consecutive_failures__gte=settings.NOTIFICATIONS_FAILING_AFTER,
    ).update(failing_since=now)
    return None

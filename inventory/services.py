"""What the views and the API ask of the inventory: the events setup and the events kept."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from inventory import events
from inventory.models import Event


def events_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/api/v1/events/")


def notifications_setting(url: str, token: str) -> str:
    """The exact REGISTRY_NOTIFICATIONS_ENDPOINTS value for the registry container."""
    endpoint = {
        "name": "registry-admin",
        "url": url,
        "headers": {"Authorization": [f"Bearer {token}"]},
        "timeout": "2s",
        "threshold": 5,
        "backoff": "1s",
        "ignore": {"mediatypes": ["application/octet-stream"]},
    }
    return json.dumps([endpoint], separators=(",", ":"))


def events_setup(request: HttpRequest) -> dict[str, Any]:
    """What the Registry page shows: events on (last one received), or how to turn them on.

    When off, a fresh token is suggested and shown in both settings; a configured token is
    never shown.
    """
    if settings.REGISTRY_EVENTS_TOKEN:
        return {"enabled": True, "last_received": events.last_received(), "live": events.is_live()}
    token = secrets.token_urlsafe(32)
    return {
        "enabled": False,
        "token": token,
        "endpoints": notifications_setting(events_url(request), token),
    }


def recent_events(filters: dict[str, Any]) -> QuerySet[Event]:
    """Events newest first, filtered by repository, tag, action, actor, address and since/until."""
    found = Event.objects.all()
    for name in ("repository", "tag", "action", "actor"):
        if filters.get(name):
            found = found.filter(**{name: filters[name]})
    if filters.get("address"):
        found = found.filter(address__startswith=filters["address"])
    if filters.get("since"):
        found = found.filter(timestamp__gte=filters["since"])
    if filters.get("until"):
        found = found.filter(timestamp__lte=filters["until"])
    return found.order_by("-timestamp", "-id")

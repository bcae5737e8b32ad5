"""What the views and the API ask of the inventory: the events setup and the events kept."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
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


# The suggestion is made once and kept (issue 25: it changed on every load, so a token copied
# into the registry's settings no longer matched the one pasted into the dashboard's .env).
SUGGESTION_FILE = "events_token_suggestion"


def suggested_events_token() -> str:
    """A token for REGISTRY_EVENTS_TOKEN, made on first use and kept in DATA_DIR (mode 0600)."""
    path = Path(settings.DATA_DIR) / SUGGESTION_FILE
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two first loads at once keep one token, the one written first.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip() or token
    with os.fdopen(descriptor, "w") as file:
        file.write(token)
    return token


def events_setup(request: HttpRequest) -> dict[str, Any]:
    """What the Registry page shows: events on (last one received), or how to turn them on.

    When off, a fresh token is suggested and shown in both settings; a configured token is
    never shown.
    """
    if settings.REGISTRY_EVENTS_TOKEN:
        return {"enabled": True, "last_received": events.last_received(), "live": events.is_live()}
    token = suggested_events_token()
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

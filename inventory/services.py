"""What the views and the API ask of the inventory: the events setup and the events kept."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from inventory import gaps, queries, receiving
from inventory.models import Event, EventsGap, EventsState, SyncState
from registry_client.client import get_client


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
        return {
            "enabled": True,
            "last_received": queries.last_received(),
            "live": queries.is_live(),
            "health": events_health(),
        }
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


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def gap_dict(gap: EventsGap) -> dict[str, Any]:
    return {
        "from": _iso(gap.started),
        "to": _iso(gap.ended),
        "reason": gap.reason,
        "detected": _iso(gap.detected),
        "reconciled": _iso(gap.reconciled),
    }


def events_health() -> dict[str, Any]:
    """``GET /api/v1/events/health/`` and the Registry page: are the registry's events arriving,
    applied, and can the inventory vouch for itself (no gap a reconcile has not covered)."""
    now = timezone.now()
    state = EventsState.objects.filter(pk=1).first()
    pending = Event.objects.filter(processed=False)
    oldest = pending.order_by("received_at").values_list("received_at", flat=True).first()
    last = Event.objects.order_by("-received_at").values_list("received_at", "timestamp").first()
    open_gaps = gaps.open_gaps()
    enabled = bool(settings.REGISTRY_EVENTS_TOKEN)
    return {
        "enabled": enabled,
        "received_last_minute": Event.objects.filter(received_at__gte=now - timedelta(minutes=1)).count(),
        "received_last_hour": Event.objects.filter(received_at__gte=now - timedelta(hours=1)).count(),
        "last_received": _iso(last[0]) if last else None,
        "last_event": _iso(last[1]) if last else None,
        "refused_last_minute": receiving.refused(1),
        "refused_last_hour": receiving.refused(60),
        "pending": pending.count(),
        "lag_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "tracking_since": _iso(state.tracking_since) if state else None,
        "trusted": enabled and state is not None and state.tracking_since is not None and not open_gaps,
        "open_gaps": [gap_dict(gap) for gap in open_gaps],
        "gaps": [gap_dict(gap) for gap in EventsGap.objects.order_by("-started")[:20]],
    }


def open_gaps() -> list[EventsGap]:
    """Gaps no reconcile has covered yet (the dashboard's summary turns amber)."""
    return gaps.open_gaps()


def cannot_vouch() -> str:
    """Why the inventory cannot vouch for itself now ("" when it can): no sync has finished, or an
    events gap no sync has covered yet."""
    if not SyncState.finished_once():
        return "the inventory's first sync has not finished"
    found = gaps.open_gaps()
    if found:
        gap = found[-1]
        return f"events gap from {gap.started:%Y-%m-%d %H:%M} UTC not covered by a sync yet ({gap.reason})"
    return ""


def refresh_repositories(selected: Callable[[str], bool]) -> int:
    """Read the registry's repositories ``selected`` names into the inventory now (their tag lists,
    new tags, tags gone); how many."""
    # The sync machinery is imported only here, when a preview finds the inventory cannot vouch:
    # the web imports this module on every page and keeps it out otherwise (issue 28).
    from inventory import sync

    names = [name for name in sorted(set(get_client().catalog())) if selected(name)]
    return sum(1 for name in names if sync.sync_repository(name))

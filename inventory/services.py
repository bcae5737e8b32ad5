"""What the views and the API ask of the inventory: sync state, freshness, the events setup."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from inventory import events, tasks
from inventory.models import Event
from maintenance.models import Job

SyncRunning = tasks.SyncRunning


def request_sync(*, request: HttpRequest | None = None, user: AbstractBaseUser | AnonymousUser | None = None) -> Job:
    """Queue a reconcile (operators); SyncRunning with the active job when one is queued or running."""
    return tasks.queue_sync(request=request, user=user, reason="manual")


@dataclass(frozen=True)
class Freshness:
    """How current the inventory is, for the pages' "synced 40 s ago" / "live" line."""

    running: Job | None
    last: Job | None  # the last finished sync
    live: bool
    synced_once: bool

    @property
    def last_synced(self) -> datetime | None:
        return self.last.finished_at if self.last is not None else None

    @property
    def age_seconds(self) -> int | None:
        if self.last_synced is None:
            return None
        return max(int((timezone.now() - self.last_synced).total_seconds()), 0)


def freshness() -> Freshness:
    syncs = Job.objects.filter(kind=Job.Kind.SYNC)
    running = syncs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
    last = syncs.filter(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).order_by("-finished_at").first()
    synced_once = syncs.filter(status=Job.Status.SUCCEEDED).exists()
    return Freshness(running=running, last=last, live=events.is_live(), synced_once=synced_once)


def sync_status() -> dict[str, Any]:
    """``GET /api/v1/sync/``: whether one runs, and the last one's times and figures."""
    state = freshness()
    last = state.last
    return {
        "running": state.running is not None,
        "last_started": last.started_at.isoformat() if last and last.started_at else None,
        "last_finished": last.finished_at.isoformat() if last and last.finished_at else None,
        "last_result": (last.result if last.status == Job.Status.SUCCEEDED else {"error": last.error})
        if last
        else None,
    }


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

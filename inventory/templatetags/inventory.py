"""Template tags: the events setup on the Registry page, the freshness line on catalog pages."""

from __future__ import annotations

from typing import Any

from django import template

from inventory import services

register = template.Library()


@register.inclusion_tag("inventory/_events_setup.html", takes_context=True)
def events_setup(context: dict[str, Any]) -> dict[str, Any]:
    return {"setup": services.events_setup(context["request"])}


@register.inclusion_tag("inventory/_freshness.html", takes_context=True)
def sync_freshness(context: dict[str, Any]) -> dict[str, Any]:
    """ "synced 40 s ago" or "live", a running sync's progress, and "Sync now" for operators."""
    request = context["request"]
    return {
        "state": services.freshness(),
        "can_operate": context.get("can_operate", False),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }

"""``{% sync_freshness %}``: "synced 40 s ago" or "live", a running sync, "Sync now" for operators."""

from __future__ import annotations

from typing import Any

from django import template

from inventory import jobs as sync_jobs

register = template.Library()


@register.inclusion_tag("inventory/_freshness.html", takes_context=True)
def sync_freshness(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    return {
        "state": sync_jobs.freshness(),
        "can_operate": context.get("can_operate", False),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }

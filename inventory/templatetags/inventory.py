"""Template tags: the events setup on the Registry page, since when pulls are counted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory import gaps, services

register = template.Library()


@register.inclusion_tag("inventory/_events_setup.html", takes_context=True)
def events_setup(context: dict[str, Any]) -> dict[str, Any]:
    return {"setup": services.events_setup(context["request"])}


@register.filter
def moment(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 time from the events' health figures (the API's strings) as a datetime, for
    ``date`` and ``naturaltime`` like the page's other times; None for none or an unreadable one."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return parse_datetime(value)
    except ValueError:
        return None


@register.simple_tag
def pulls_since() -> SafeString:
    """ "counted since <time>" beside pull counts, or why they may be incomplete."""
    since = gaps.pulls_counted_since_cached()
    if since is None:
        return format_html(
            '<small class="muted" data-testid="pulls-since">pull history incomplete: see the '
            '<a href="{}#registry-events">Registry</a> page\'s events</small>',
            reverse("registry"),
        )
    return format_html(
        '<small class="muted" data-testid="pulls-since">counted since <time datetime="{}">{}</time></small>',
        since.isoformat(),
        f"{since:%Y-%m-%d %H:%M} UTC",
    )

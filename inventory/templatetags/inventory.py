"""Template tags: the events setup on the Registry page."""

from __future__ import annotations

from typing import Any

from django import template

from inventory import services

register = template.Library()


@register.inclusion_tag("inventory/_events_setup.html", takes_context=True)
def events_setup(context: dict[str, Any]) -> dict[str, Any]:
    return {"setup": services.events_setup(context["request"])}

"""``{% away "update" as why %}``: why an action cannot run now (``core.reachability``), or ''.

The pages disable the action's button and show ``why`` beside it (``core/_disabled_reason.html``).
"""

from __future__ import annotations

from django import template

from core import reachability

register = template.Library()


@register.simple_tag
def away(need: str) -> str:
    """``need``: a job kind ("update", "sync"...), or "registry" / "engine" for a direct action (delete)."""
    return reachability.away(need) or ""

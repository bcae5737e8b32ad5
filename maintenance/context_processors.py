"""Template context every page needs from maintenance: the snapshot pause banner (issue 17)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from maintenance.models import RegistryPause


def registry_pause(request: HttpRequest) -> dict[str, Any]:
    """The pause in progress, if any: every page shows its countdown and a Resume now button."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    pause = RegistryPause.objects.filter(resumed_at=None).select_related("paused_by").first()
    return {"registry_pause": pause}

"""The API's JSON renderer: answers carry ``"warnings"`` while part of the dashboard is degraded."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer

from core import cache


class JSONWithWarningsRenderer(JSONRenderer):
    """JSON, plus ``"warnings": [...]`` in successful object answers while Redis is unreachable
    (the answer itself came from the database and the registry; jobs cannot be queued).

    An answer whose own ``warnings`` is not that list (the diagnostics' count of warning checks, a
    contract) keeps it and gets the problem as ``"dashboard_warnings": [...]`` instead."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if isinstance(data, dict) and response is not None and response.status_code < 400:
            problem = cache.problem()
            if problem:
                own = data.get("warnings", [])
                if isinstance(own, list):
                    data = {**data, "warnings": [*own, problem]}
                else:
                    data = {**data, "dashboard_warnings": [problem]}
        return super().render(data, accepted_media_type, renderer_context)

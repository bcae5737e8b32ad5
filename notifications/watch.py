"""The registry watched for notifications (worker side, beat): down and back, each told once.

Nothing else asks the registry on a schedule (the health panel asks when a page shows it),
so the watcher runs ``catalog.health.check_registry`` every NOTIFICATIONS_REGISTRY_CHECK_INTERVAL
seconds. Down is announced after NOTIFICATIONS_REGISTRY_DOWN_AFTER failed checks in a row (a
restart or a GC's short stop is not an outage), back at the first answer after that, with how
long it was away.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from catalog.health import check_registry as ask_registry
from core import notable
from notifications.models import HealthWatch


def check_registry() -> HealthWatch:
    answer = ask_registry({})
    now = timezone.now()
    state, _ = HealthWatch.objects.get_or_create(name="registry")
    state.checked_at = now
    if answer.ok:
        if state.announced_down and state.down_since is not None:
            notable.announce(
                notable.REGISTRY_UP,
                url=settings.REGISTRY_URL,
                down_seconds=round((now - state.down_since).total_seconds()),
                since=state.down_since.isoformat(),
            )
        state.ok, state.failures, state.down_since, state.announced_down, state.detail = True, 0, None, False, ""
    else:
        state.ok = False
        state.failures += 1
        state.detail = answer.detail
        state.down_since = state.down_since or now
        if state.failures >= settings.NOTIFICATIONS_REGISTRY_DOWN_AFTER and not state.announced_down:
            state.announced_down = True
            notable.announce(
                notable.REGISTRY_DOWN,
                url=settings.REGISTRY_URL,
                detail=answer.detail,
                since=state.down_since.isoformat(),
            )
    state.save()
    return state

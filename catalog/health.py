"""The registry's part of the dashboard's health: does its v2 API answer?

Each answer is kept (per REGISTRY_URL) as the last known state that pages read without asking
the registry (``core.reachability``): the health panel, the health API and the notifications'
watcher run this check, so the state is at most one of their intervals old.
"""

from __future__ import annotations

import hashlib
import time
from typing import TypedDict

from django.conf import settings
from django.core.cache import cache

from core.checks import Check
from core.masking import mask_url
from registry_client.client import RegistryError, get_client

STATE_KEY = "health:registry:{}"
# Older than this, a failure is not trusted to disable actions (nobody has looked since).
STATE_TRUSTED_FOR = 5 * 60


class RegistryState(TypedDict):
    ok: bool
    detail: str
    checked_at: float


def _state_key(registry_url: str | None = None) -> str:
    return STATE_KEY.format(hashlib.sha256((registry_url or settings.REGISTRY_URL).encode()).hexdigest()[:12])


def check_registry(done: dict[str, Check]) -> Check:
    # The answer is kept under the URL the client asked, read once: a check under way while
    # REGISTRY_URL changes (tests, a settings reload) cannot record one URL's answer as another's.
    client = get_client()
    # REGISTRY_URL may carry credentials (user:password@): never on a page or in the API.
    url = mask_url(client.config.url)
    extra = {"url": url}
    try:
        client.ping()
    except RegistryError as e:
        check = Check(False, mask_url(e.message), extra=extra)
    else:
        check = Check(True, f"{url}/v2/ answers.", extra=extra)
    state: RegistryState = {"ok": check.ok, "detail": check.detail, "checked_at": time.time()}
    cache.set(_state_key(client.config.url), state, timeout=STATE_TRUSTED_FOR)
    return check


def recorded_state() -> RegistryState | None:
    """The last check's answer for the current REGISTRY_URL, None when none is known."""
    state: RegistryState | None = cache.get(_state_key())
    return state


def unreachable_reason() -> str | None:
    """Why the registry could not be reached at its last check; None when it answered, or unknown."""
    state = recorded_state()
    if state is None or state["ok"]:
        return None
    return state["detail"]

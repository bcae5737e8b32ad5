"""A registry of its own that sends its events to the live test server: what the events tests
(``inventory/tests/test_events_live.py``) and the root conftest's ``v3_notifying_registry`` start."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from inventory import services
from testenv.services import RegistryService, start_registry


@contextmanager
def registry_sending_events(
    engine: Any, live_server: Any, settings: Any, image: str, token: str
) -> Iterator[RegistryService]:
    """A registry on ``image`` posting its events with ``token`` to the live server's endpoint;
    the dashboard's settings point at it and take the token. Removed afterwards."""
    settings.REGISTRY_EVENTS_TOKEN = token
    value = services.notifications_setting(f"{live_server.url}/api/v1/events/", token)
    registry = start_registry(
        engine, f"notify-{uuid.uuid4().hex[:8]}", env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": value}, image=image
    )
    settings.REGISTRY_URL = registry.url
    try:
        yield registry
    finally:
        registry.remove()

"""A registry of its own (v3.1.1, then 2.8.2) whose token server is the live test server's /auth/token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from access import signing
from testenv.auth import start_dashboard_token_registry
from testenv.services import RegistryService


@pytest.fixture(params=[3, 2], ids=["v3", "v2"])
def token_registry(
    request: pytest.FixtureRequest, engine: Any, live_server: Any, settings: Any
) -> Iterator[RegistryService]:
    image = engine.registry_images.get(request.param)
    if image is None:
        pytest.skip(f"no v{request.param} registry image")
    settings.REGISTRY_TOKEN_REALM = f"{live_server.url}/auth/token"
    registry = start_dashboard_token_registry(
        engine,
        f"access-{uuid.uuid4().hex[:8]}",
        settings.REGISTRY_TOKEN_REALM,
        signing.signing_key().certificate_pem,
        service=settings.REGISTRY_TOKEN_SERVICE,
        issuer=settings.REGISTRY_TOKEN_ISSUER,
        image=image,
    )
    # The dashboard's own client logs in with its built-in account, as the settings arrange it.
    settings.REGISTRY_URL = registry.url
    settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = "robot$dashboard", settings.DASHBOARD_REGISTRY_PASSWORD
    settings.REGISTRY_CONTAINER = registry.container_name
    try:
        yield registry
    finally:
        registry.remove()

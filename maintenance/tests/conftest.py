"""Fixtures for the maintenance tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.tests.faults import PrivateRedis
from testenv.services import RegistryService, Services, start_registry


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of the test's own, to stop and start again (``core.tests.faults.PrivateRedis``)."""
    redis = PrivateRedis(tmp_path / "redis")
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def private_registry(request: pytest.FixtureRequest, services: Services, settings: object) -> Iterator[RegistryService]:
    """A private registry container for tests that stop, recreate or collect it.

    The primary image (v3.1.1) by default; ``@pytest.mark.parametrize("private_registry",
    ["v3", "v2"], indirect=True)`` runs a test on both versions (``private_registry.major``).
    The session's shared ``registry`` stays untouched; settings point the dashboard here.
    """
    version = getattr(request, "param", None)
    images = services.engine.registry_images
    if version is not None and int(version[1:]) not in images:
        pytest.skip(services.v3_missing or f"no {version} registry image")
    image = images[int(version[1:])] if version is not None else None
    name = f"gcreg-{uuid.uuid4().hex[:6]}"
    registry = start_registry(services.engine, name=name, image=image)
    settings.REGISTRY_CONTAINER = name  # type: ignore[attr-defined]
    settings.REGISTRY_URL = registry.url  # type: ignore[attr-defined]
    try:
        yield registry
    finally:
        registry.remove()


BOTH_VERSIONS = pytest.mark.parametrize("private_registry", ["v3", "v2"], indirect=True)

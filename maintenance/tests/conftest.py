from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from testenv.services import RegistryService, Services, start_registry


@pytest.fixture
def gc_registry(services: Services, settings: object) -> Iterator[RegistryService]:
    """A private registry container for tests that stop, recreate or collect it.

    The session's shared ``registry`` stays untouched; settings point the dashboard here.
    """
    name = f"gcreg-{uuid.uuid4().hex[:6]}"
    registry = start_registry(services.engine, name=name)
    settings.REGISTRY_CONTAINER = name  # type: ignore[attr-defined]
    settings.REGISTRY_URL = registry.url  # type: ignore[attr-defined]
    try:
        yield registry
    finally:
        registry.remove()


@pytest.fixture
def role_groups(transactional_db: None) -> None:
    """The role groups a data migration makes; a transactional test before this one flushed them."""
    from django.contrib.auth.models import Group

    for name in ("viewer", "operator", "admin"):
        Group.objects.get_or_create(name=name)

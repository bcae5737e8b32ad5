"""Fixtures for retention's tests: unique repository names, a private registry for the GC tests."""

from __future__ import annotations

import uuid

import pytest

from maintenance.tests.conftest import private_registry  # noqa: F401 - the GC tests' registry, reused


@pytest.fixture
def repo_prefix(request: pytest.FixtureRequest) -> str:
    test = request.node.name.lower().replace("test_", "", 1)
    cleaned = "".join(char if char.isalnum() else "-" for char in test).strip("-")[:30].strip("-")
    return f"ret-{cleaned}-{uuid.uuid4().hex[:6]}"

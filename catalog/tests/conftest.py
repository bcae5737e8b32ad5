"""Fixtures for the catalog's tests: unique repository names in the shared test registry."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def repo_prefix(request: pytest.FixtureRequest) -> str:
    """A lowercase name prefix unique to this test (the registry is shared by the session)."""
    test = request.node.name.lower().replace("test_", "", 1)
    cleaned = "".join(char if char.isalnum() else "-" for char in test).strip("-")[:40].strip("-")
    return f"{cleaned}-{uuid.uuid4().hex[:6]}"

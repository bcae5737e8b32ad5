"""Fixtures for the inventory's tests: unique repository names in the shared registry."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def repo_prefix(request: pytest.FixtureRequest) -> str:
    test = request.node.name.lower().replace("test_", "", 1)
    cleaned = "".join(char if char.isalnum() else "-" for char in test).strip("-")[:40].strip("-")
    return f"inv-{cleaned}-{uuid.uuid4().hex[:6]}"

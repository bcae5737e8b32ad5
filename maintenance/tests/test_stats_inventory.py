"""The statistics' content counts come from the inventory once it has synced: the same figures."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from inventory import sync
from maintenance import stats_collector as stats
from registry_client.client import RegistryClient
from testenv import images


@pytest.fixture
def repo_prefix() -> str:
    return f"inv-{uuid.uuid4().hex[:10]}"


pytestmark = pytest.mark.django_db


def test_the_inventory_gives_the_figures_the_registry_walk_gives(
    versioned_registry: Any, repo_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    images.push_oci_index(versioned_registry.url, repo_prefix, "multi", with_attestation=True)
    image = images.push_oci_image(versioned_registry.url, repo_prefix, "single", layer_count=2)
    images.tag_existing(versioned_registry.url, repo_prefix, "again", image)
    images.push_oci_image(versioned_registry.url, f"{repo_prefix}/other", "x", layer_count=1)
    walked = stats.content_summary()

    sync.reconcile()

    def refuse(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError(f"asked the registry: {method} {path}")

    monkeypatch.setattr(RegistryClient, "request", refuse)
    stored = stats.content_summary()
    assert stored == walked
    mine = {r["name"]: r for r in stored.repositories if r["name"].startswith(repo_prefix)}
    assert mine[repo_prefix]["tags"] == 3 and mine[repo_prefix]["unique_bytes"] > 0

"""The statistics' content counts come from the inventory once it has synced: the same figures."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import sync
from inventory.models import Repository
from maintenance import stats_collector as stats
from registry_client.client import RegistryClient
from testenv import images


@pytest.fixture
def repo_prefix() -> str:
    return f"inv-{uuid.uuid4().hex[:10]}"


pytestmark = [pytest.mark.django_db, pytest.mark.database]  # the SQL differs: also on PostgreSQL


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
    # The same counts, bytes and largest repositories; only the walk lists every repository.
    assert stored == dataclasses.replace(walked, repositories=[])
    # The largest are read from each repository's kept size: every one is the walk's figure.
    assert {r["name"]: (r["unique_bytes"], r["tags"]) for r in walked.repositories} == {
        repository.name: (repository.size, repository.tags.count()) for repository in Repository.objects.all()
    }
    mine = {r["name"]: r for r in walked.repositories if r["name"].startswith(repo_prefix)}
    assert mine[repo_prefix]["tags"] == 3 and mine[repo_prefix]["unique_bytes"] > 0
    assert mine[repo_prefix]["unique_bytes"] != mine[f"{repo_prefix}/other"]["unique_bytes"]


def test_the_inventorys_figures_are_aggregated_in_the_database_whatever_the_number_of_repositories(
    versioned_registry: Any, repo_prefix: str
) -> None:
    """A scheduled sample at 10,000 repositories reads a few aggregate rows, not a row (or a
    query) per repository: the same statements for 1 repository as for 12 (issue 28)."""
    images.push_oci_image(versioned_registry.url, repo_prefix, "v1", layer_count=1)
    sync.reconcile()

    def statements() -> tuple[list[str], stats.RegistryContent]:
        with CaptureQueriesContext(connection) as queries:
            found = stats.content_summary()
        return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(("SELECT", "WITH"))], found

    few, before = statements()
    for n in range(11):
        images.push_oci_image(versioned_registry.url, f"{repo_prefix}/more{n}", "v1", layer_count=1)
    sync.reconcile()
    many, after = statements()

    assert many == few and len(few) <= 3  # whether it synced, the totals, the largest
    assert after.repository_count == before.repository_count + 11
    assert after.tag_count == before.tag_count + 11
    assert after.repositories == [] and len(after.largest_repositories) == min(10, after.repository_count)

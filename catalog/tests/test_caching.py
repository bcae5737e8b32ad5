"""What the catalog caches, for how long, and how many registry requests it runs at once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from benchmarks.seed import seed_tags
from catalog import services
from catalog.tests.conftest import RequestLog
from testenv import images


def test_a_warm_tag_list_asks_the_registry_nothing(registry: Any, repo_prefix: str, requests_made: RequestLog) -> None:
    seed_tags(registry.url, repo_prefix, 12)
    cold = services.list_tags(repo_prefix)
    assert requests_made.count("/manifests/") == 12 and requests_made.count("/blobs/") == 12
    requests_made.paths.clear()

    warm = services.list_tags(repo_prefix)

    assert requests_made.paths == []
    assert warm == cold


def test_content_stays_cached_by_digest_when_the_tag_cache_expires(
    registry: Any, repo_prefix: str, requests_made: RequestLog, settings: Any
) -> None:
    settings.CATALOG_TAG_TTL = 0  # Django: a timeout of 0 expires at once
    seed_tags(registry.url, repo_prefix, 3)
    services.list_tags(repo_prefix)
    requests_made.paths.clear()

    services.list_tags(repo_prefix)

    assert requests_made.count("/tags/list") == 1
    assert requests_made.count("GET /v2/" + repo_prefix + "/manifests/t") == 3  # tags re-resolved
    assert requests_made.count("/blobs/") == 0  # configs by digest: cached forever


def test_a_moved_tag_shows_its_new_image_after_invalidation(registry: Any, repo_prefix: str) -> None:
    first = images.push_oci_image(registry.url, repo_prefix, "latest")
    assert services.list_tags(repo_prefix).rows[0].digest == first
    second = images.push_oci_image(registry.url, repo_prefix, "latest")
    assert services.list_tags(repo_prefix).rows[0].digest == first  # within CATALOG_TAG_TTL

    services.invalidate_repository(repo_prefix)

    assert services.list_tags(repo_prefix).rows[0].digest == second
    assert services.image_detail(repo_prefix, "latest").digest == second


def test_invalidation_rechecks_digests_and_the_repository_list(registry: Any, repo_prefix: str) -> None:
    from registry_client.client import RegistryNotFound, get_client

    digest = images.push_oci_image(registry.url, repo_prefix, "1.0")
    assert services.image_detail(repo_prefix, digest).digest == digest
    assert services.list_repositories(repo_prefix) == [services.Repository(repo_prefix, 1)]
    get_client().delete_manifest(repo_prefix, digest)

    services.invalidate_repository(repo_prefix)

    with pytest.raises(RegistryNotFound):
        services.image_detail(repo_prefix, digest)
    assert services.list_repositories(repo_prefix) == [services.Repository(repo_prefix, 0)]


def test_blobs_above_the_cap_are_not_cached(
    registry: Any, repo_prefix: str, requests_made: RequestLog, settings: Any
) -> None:
    settings.CATALOG_CACHE_MAX_KB = 0
    images.push_oci_image(registry.url, repo_prefix, "1.0")
    services.image_detail(repo_prefix, "1.0")
    requests_made.paths.clear()

    services.image_detail(repo_prefix, "1.0")

    assert requests_made.count("/blobs/") == 1 and requests_made.count("/manifests/") == 1


def test_tags_are_fetched_in_parallel_within_the_configured_bound(
    registry: Any, repo_prefix: str, requests_made: RequestLog, settings: Any
) -> None:
    settings.CATALOG_CONCURRENCY = 3
    seed_tags(registry.url, repo_prefix, 24)

    rows = services.list_tags(repo_prefix).rows

    assert len(rows) == 24
    assert 1 < requests_made.most_in_flight <= 3
    assert any(name.startswith("catalog") for name in requests_made.threads)


def test_a_stale_repository_list_is_served_at_once_and_refreshed_in_the_background(
    registry: Any, repo_prefix: str, settings: Any
) -> None:
    from django.core.cache import cache

    settings.CATALOG_LIST_TTL = 0  # always stale: every call serves the list and refreshes it
    images.push_oci_image(registry.url, f"{repo_prefix}/first", "1")
    assert [repo.name for repo in services.list_repositories(repo_prefix)] == [f"{repo_prefix}/first"]
    images.push_oci_image(registry.url, f"{repo_prefix}/second", "1")

    stale = services.list_repositories(repo_prefix)
    lock = f"{services._repositories_key()}:refreshing"
    deadline = time.monotonic() + 30
    while cache.get(lock) is not None and time.monotonic() < deadline:
        time.sleep(0.05)

    assert [repo.name for repo in stale] == [f"{repo_prefix}/first"]
    settings.CATALOG_LIST_TTL = 3600  # no further refresh outliving this test
    fresh = services.list_repositories(repo_prefix)
    assert [repo.name for repo in fresh] == [f"{repo_prefix}/first", f"{repo_prefix}/second"]


def test_invalidation_recounts_the_repository_in_the_cached_list(registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, f"{repo_prefix}/app", "1")
    images.tag_existing(registry.url, f"{repo_prefix}/app", "2", digest)
    assert services.list_repositories(repo_prefix) == [services.Repository(f"{repo_prefix}/app", 2)]
    images.push_oci_image(registry.url, f"{repo_prefix}/app", "3")
    images.push_oci_image(registry.url, f"{repo_prefix}/new", "1")

    services.invalidate_repository(f"{repo_prefix}/app")
    services.invalidate_repository(f"{repo_prefix}/new")

    assert services.list_repositories(repo_prefix) == [
        services.Repository(f"{repo_prefix}/app", 3),
        services.Repository(f"{repo_prefix}/new", 1),
    ]

"""GET /api/v1/repositories/: every repository the inventory read across the registry's pages, with tag counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from benchmarks.seed import seed_repositories
from catalog.tests.conftest import read_into_inventory
from inventory import sync
from registry_client.client import get_client
from testenv import images


def test_it_lists_every_repository_across_more_than_one_registry_page(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    names = [f"{repo_prefix}/r{i:03d}" for i in range(105)]
    seed_repositories(registry.url, names)
    # Without n the registry answers 100 per page (REGISTRY-FACTS.md): the list must be longer.
    first_page = __import__("requests").get(f"{registry.url}/v2/_catalog", timeout=10).json()["repositories"]
    assert len(first_page) == 100
    sync.reconcile()

    answer = viewer_client.get("/api/v1/repositories/", {"search": repo_prefix, "page_size": "1000"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 105
    assert [item["name"] for item in body["results"]] == names
    assert all(item["tag_count"] == 1 for item in body["results"])


def test_it_pages_its_own_answer(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    seed_repositories(registry.url, [f"{repo_prefix}/a", f"{repo_prefix}/b", f"{repo_prefix}/c"])
    read_into_inventory(f"{repo_prefix}/a", f"{repo_prefix}/b", f"{repo_prefix}/c")
    answer = viewer_client.get("/api/v1/repositories/", {"search": repo_prefix, "page_size": "2"}).json()
    assert answer["count"] == 3 and len(answer["results"]) == 2 and answer["next"]
    second = viewer_client.get(answer["next"]).json()
    assert [item["name"] for item in second["results"]] == [f"{repo_prefix}/c"]


def test_it_counts_tags_and_keeps_repositories_whose_tags_were_deleted(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    full, emptied = f"{repo_prefix}/full", f"{repo_prefix}/emptied"
    digest = images.push_oci_image(registry.url, full, "1.0")
    images.tag_existing(registry.url, full, "latest", digest)
    gone = images.push_oci_image(registry.url, emptied, "old")
    get_client().delete_manifest(emptied, gone)
    read_into_inventory(full, emptied)

    results = viewer_client.get("/api/v1/repositories/", {"search": repo_prefix}).json()["results"]

    # Without the registry's events nobody is known to have pushed or pulled them.
    assert [{k: v for k, v in item.items() if k != "size"} for item in results] == [
        {"name": emptied, "tag_count": 0, "last_pushed": None, "pull_count": 0, "pulls_since": None},
        {"name": full, "tag_count": 2, "last_pushed": None, "pull_count": 0, "pulls_since": None},
    ]
    assert results[0]["size"] == 0 and results[1]["size"] > 0
    page = viewer_client.get("/catalog/", {"q": repo_prefix}).content.decode()
    assert f">{full}</a>" in page and f">{emptied}</a>" not in page  # empty ones only when asked


def test_search_is_case_insensitive_and_matches_inside_names(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    seed_repositories(registry.url, [f"{repo_prefix}/team/api", f"{repo_prefix}/team/web"])
    read_into_inventory(f"{repo_prefix}/team/api", f"{repo_prefix}/team/web")
    results = viewer_client.get("/api/v1/repositories/", {"search": "TEAM/AP"}).json()["results"]
    assert f"{repo_prefix}/team/api" in [item["name"] for item in results]
    assert f"{repo_prefix}/team/web" not in [item["name"] for item in results]


@pytest.mark.django_db
def test_anonymous_callers_are_refused(client: Client, services: Any) -> None:
    assert client.get("/api/v1/repositories/").status_code in (401, 403)

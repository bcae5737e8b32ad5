"""The catalog's pages and API read the inventory: a repository it does not know is read into it at
once, and after the sync nothing asks the registry."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalog import blobs
from inventory import sync
from inventory.models import Tag
from registry_client.client import RegistryClient, get_client
from testenv import images

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # the inventory: also on PostgreSQL


def synced() -> None:
    sync.reconcile()


def test_repositories_and_tags_come_from_the_inventory(
    registry: Any, repo_prefix: str, viewer_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, _ = images.push_oci_index(registry.url, repo_prefix, "multi", with_attestation=True)
    image = images.push_oci_image(registry.url, repo_prefix, "single", layer_count=2)
    images.tag_existing(registry.url, repo_prefix, f"sha256-{image.split(':')[1]}.sig", image)
    # The first visit: the inventory does not know the repository yet, so it is read in at once.
    first_rows = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/").json()["results"]
    first_image = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/multi/").json()
    referenced = blobs.content_blobs(repo_prefix)
    synced()

    def refuse(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError(f"asked the registry: {method} {path}")

    monkeypatch.setattr(RegistryClient, "request", refuse)
    repos = viewer_client.get("/api/v1/repositories/", {"search": repo_prefix}).json()["results"]
    distinct: dict[str, int] = {}
    for found in referenced.values():
        distinct.update(found)
    assert repos == [
        {
            "name": repo_prefix,
            "tag_count": 3,
            "last_pushed": None,
            "pull_count": 0,
            "pulls_since": None,
            "size": sum(distinct.values()),
        }
    ]
    rows = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/").json()["results"]
    assert [row["name"] for row in rows] == ["multi", "single"]
    assert [row["size"] for row in rows] == [sum(referenced[name].values()) for name in ("multi", "single")]
    assert [(row["pushed"], row["last_pulled"], row["pull_count"]) for row in rows] == [(None, None, 0)] * 2
    assert rows == first_rows  # the sync read what the first visit had read
    assert rows[1]["signatures"] == [{"tag": f"sha256-{image.split(':')[1]}.sig", "kind": "sig"}]
    detail = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/multi/").json()
    assert detail == first_image and detail["digest"] == index
    by_digest = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/manifests/{index}/").json()
    assert by_digest["digest"] == index and by_digest["name"] is None
    page = viewer_client.get(f"/catalog/r/{repo_prefix}/").content.decode()
    assert 'data-tag="multi"' in page and 'data-testid="freshness-age"' in page


def test_a_large_table_is_paged_sorted_and_filtered_on_the_server(
    registry: Any, repo_prefix: str, viewer_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = images.push_oci_image(registry.url, repo_prefix, "t000", created="2020-01-01T00:00:00Z", layer_count=1)
    new = images.push_oci_image(registry.url, repo_prefix, "t001", created="2024-01-01T00:00:00Z", layer_count=3)
    for i in range(2, 150):
        images.tag_existing(registry.url, repo_prefix, f"t{i:03d}", old if i % 2 == 0 else new)
    synced()

    def refuse(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError(f"asked the registry: {method} {path}")

    monkeypatch.setattr(RegistryClient, "request", refuse)
    url = f"/catalog/r/{repo_prefix}/"
    first = viewer_client.get(url).content.decode()
    assert first.count("<tr data-tag=") == 100
    assert 'data-testid="tag-page-next"' in first and "page 1 of 2" in first
    second = viewer_client.get(url, {"page": 2}, HTTP_HX_REQUEST="true").content.decode()
    assert second.count("<tr data-tag=") == 50 and 'data-tag="t149"' in second
    assert "<html" not in second  # the htmx fragment only
    newest = viewer_client.get(url, {"sort": "-created"}).content.decode()
    # Sorted by created, newest first: the 75 new ones, then 25 of the old ones on page 1.
    assert newest.count("<tr data-tag=") == 100
    tags_on_first_page = [chunk.split('"', 1)[0] for chunk in newest.split('<tr data-tag="')[1:]]
    assert tags_on_first_page[:75] == [f"t{i:03d}" for i in range(1, 150, 2)]
    assert tags_on_first_page[75:] == [f"t{i:03d}" for i in range(0, 50, 2)]
    # The filter searches every tag, not the page shown.
    found = viewer_client.get(url, {"q": "t14"}).content.decode()
    assert [chunk.split('"', 1)[0] for chunk in found.split('<tr data-tag="')[1:]] == [f"t14{i}" for i in range(10)]
    assert "10 of 150 tags" in found
    # The API pages and sorts the same way, and gives all 150 in one page on request.
    api = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/", {"ordering": "-size", "page_size": 1000})
    body = api.json()
    assert body["count"] == 150
    sizes = [row["size"] for row in body["results"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    for ordering in ("pushed", "-pulled", "created", "-name"):
        assert viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/", {"ordering": ordering}).status_code == 200
    assert viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/", {"ordering": "bogus"}).status_code == 400


def test_deletes_through_the_dashboard_update_the_inventory_at_once(
    versioned_registry: Any, repo_prefix: str, operator_client: Client
) -> None:
    url = versioned_registry.url
    image = images.push_oci_image(url, repo_prefix, "v1")
    images.tag_existing(url, repo_prefix, "v2", image)
    other = images.push_oci_image(url, repo_prefix, "keep")
    synced()
    # registry:3 deletes the tag alone; 2.8 only by digest, so both tags on the manifest go (forced).
    answer = operator_client.delete(f"/api/v1/repositories/{repo_prefix}/tags/v1/?force=true")
    assert answer.status_code == 200, answer.content
    left = {"keep", "v2"} if versioned_registry.major == 3 else {"keep"}
    assert set(Tag.objects.filter(repository__name=repo_prefix).values_list("name", flat=True)) == left
    rows = operator_client.get(f"/api/v1/repositories/{repo_prefix}/tags/").json()["results"]
    assert {row["name"] for row in rows} == left == set(get_client().tags(repo_prefix))
    answer = operator_client.delete(f"/api/v1/repositories/{repo_prefix}/manifests/{other}/")
    assert answer.status_code == 200
    assert set(Tag.objects.filter(repository__name=repo_prefix).values_list("name", flat=True)) == left - {"keep"}
    assert set(get_client().tags(repo_prefix)) == left - {"keep"}

"""The blobs each tag references (what a delete frees, what statistics add up before a first sync), read
from the registry through catalog.blobs's caches."""

from __future__ import annotations

from typing import Any

import pytest

from catalog import blobs as catalog_blobs
from catalog.tests.conftest import RequestLog
from inventory import sync
from inventory.models import Tag
from registry_client.client import RegistryNotFound, get_client
from registry_client.references import InvalidReference
from testenv import images


def _blobs_of(repo: str, digest: str) -> dict[str, int]:
    body = get_client().get_manifest(repo, digest).body
    return {d["digest"]: d["size"] for d in [body["config"], *body["layers"]]}


@pytest.mark.django_db
def test_it_gives_each_tag_the_blobs_its_catalog_size_adds_up(registry: Any, repo_prefix: str) -> None:
    _, children = images.push_oci_index(registry.url, repo_prefix, "multi", with_attestation=True)
    image = images.push_oci_image(registry.url, repo_prefix, "single", layer_count=2)
    images.tag_existing(registry.url, repo_prefix, "again", image)

    blobs = catalog_blobs.content_blobs(repo_prefix)

    platforms = {
        **_blobs_of(repo_prefix, children["linux/amd64"]),
        **_blobs_of(repo_prefix, children["linux/arm64/v8"]),
    }
    assert blobs == {
        "again": _blobs_of(repo_prefix, image),
        "multi": platforms,
        "single": _blobs_of(repo_prefix, image),
    }
    # The attestations' blobs are left out, as in the size the catalog shows for the index.
    assert sync.sync_repository(repo_prefix)
    rows = dict(Tag.objects.filter(repository__name=repo_prefix).values_list("name", "size"))
    assert {tag: sum(sizes.values()) for tag, sizes in blobs.items()} == rows


def test_a_warm_repository_asks_the_registry_nothing(
    registry: Any, repo_prefix: str, requests_made: RequestLog
) -> None:
    images.push_oci_index(registry.url, repo_prefix, "multi", with_attestation=True)
    images.push_oci_image(registry.url, repo_prefix, "single")
    cold = catalog_blobs.content_blobs(repo_prefix)
    assert requests_made.count("/manifests/") == 4  # two tags, the index's two platforms
    requests_made.paths.clear()

    warm = catalog_blobs.content_blobs(repo_prefix)

    assert requests_made.paths == []
    assert warm == cold


def test_tags_expire_but_content_by_digest_stays_cached(
    registry: Any, repo_prefix: str, requests_made: RequestLog, settings: Any
) -> None:
    settings.CATALOG_TAG_TTL = 0  # Django: a timeout of 0 expires at once
    images.push_oci_index(registry.url, repo_prefix, "multi")
    catalog_blobs.content_blobs(repo_prefix)
    requests_made.paths.clear()
    images.push_oci_image(registry.url, repo_prefix, "new")

    blobs = catalog_blobs.content_blobs(repo_prefix)

    assert set(blobs) == {"multi", "new"}  # the tag list was asked again
    assert requests_made.count("/tags/list") == 1
    assert requests_made.count(f"GET /v2/{repo_prefix}/manifests/multi") == 1  # the tag re-resolved
    assert requests_made.count(f"/v2/{repo_prefix}/manifests/sha256:") == 0  # its platforms: cached


def test_it_answers_404_for_an_unknown_repository_and_refuses_a_bad_name(repo_prefix: str) -> None:
    with pytest.raises(RegistryNotFound):
        catalog_blobs.content_blobs(f"{repo_prefix}-never-pushed")
    with pytest.raises(InvalidReference):
        catalog_blobs.content_blobs("Not A Name")

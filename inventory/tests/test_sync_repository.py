"""One repository read into the inventory on demand (a page naming one it does not know yet)."""

from __future__ import annotations

from typing import Any

import pytest

from inventory import sync
from inventory.models import Manifest, Repository, Tag
from inventory.tests.inventory_state import manifest_row, tag_row
from registry_client.client import get_client
from testenv import images

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # the inventory: also on PostgreSQL


def _tags(repo: str) -> dict[str, str]:
    return dict(Tag.objects.filter(repository__name=repo).values_list("name", "digest"))


def test_it_reads_a_repository_its_tags_and_their_manifests(registry: Any, repo_prefix: str) -> None:
    index, children = images.push_oci_index(registry.url, repo_prefix, "multi")
    image = images.push_oci_image(registry.url, repo_prefix, "v1")
    images.tag_existing(registry.url, repo_prefix, "v2", image)

    assert sync.sync_repository(repo_prefix)

    assert _tags(repo_prefix) == {"multi": index, "v1": image, "v2": image}
    assert Manifest.objects.filter(digest__in=[index, image, *children.values()]).count() == 4
    assert Repository.objects.get(name=repo_prefix).size > 0


def test_it_follows_the_registry_when_read_again(registry: Any, repo_prefix: str) -> None:
    old = images.push_oci_image(registry.url, repo_prefix, "old")
    assert sync.sync_repository(repo_prefix)
    get_client().delete_manifest(repo_prefix, old)
    new = images.push_oci_image(registry.url, repo_prefix, "new", layer_count=2)

    assert sync.sync_repository(repo_prefix)

    assert _tags(repo_prefix) == {"new": new}


def test_a_repository_the_registry_does_not_have_is_not_created(registry: Any, repo_prefix: str) -> None:
    assert not sync.sync_repository(f"{repo_prefix}-never-pushed")
    assert not Repository.objects.filter(name=f"{repo_prefix}-never-pushed").exists()


def test_an_untagged_manifest_is_fetched_by_digest_only_when_the_registry_has_it(
    registry: Any, repo_prefix: str
) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, None)  # pushed by digest, no tag

    manifest = sync.fetch_manifest(repo_prefix, digest)

    assert manifest is not None and manifest.digest == digest
    assert sync.fetch_manifest(repo_prefix, f"sha256:{'2' * 64}") is None


def _written(repo: str) -> dict[str, Any]:
    """What the inventory holds of ``repo``, by name and digest (no database ids)."""
    tags = Tag.objects.filter(repository__name=repo)
    digests = set(tags.values_list("digest", flat=True))
    reached = Manifest.objects.filter(digest__in=digests)
    children = {child.digest for manifest in reached for child in manifest.child_links.all()}
    return {
        "tags": {t.name: tag_row(t) for t in tags},
        "manifests": {m.digest: manifest_row(m) for m in Manifest.objects.filter(digest__in=digests | children)},
        "size": Repository.objects.get(name=repo).size,
    }


def test_a_first_visit_writes_what_a_reconcile_writes(registry: Any, repo_prefix: str) -> None:
    """The first visit stores its manifests in one transaction (``content.store_many``, as the
    syncs do): the same rows as the reconcile's, indexes, attestations and artifacts included."""
    images.push_oci_index(registry.url, repo_prefix, "multi", with_attestation=True)
    image = images.push_oci_image(registry.url, repo_prefix, "single", layer_count=2, labels={"a": "b"})
    images.tag_existing(registry.url, repo_prefix, "again", image)
    images.push_cosign_signature(registry.url, repo_prefix, image)

    assert sync.sync_repository(repo_prefix)
    visited = _written(repo_prefix)
    Repository.objects.filter(name=repo_prefix).delete()
    sync.prune_manifests()
    assert not Manifest.objects.filter(digest__in=list(visited["manifests"])).exists()

    sync.reconcile(log=lambda line: None)

    assert _written(repo_prefix) == visited
    assert len(visited["tags"]) == 4 and len(visited["manifests"]) >= 5

"""The reconcile against the real registry: what it stores, what it asks, what it removes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory import sync
from inventory.models import Manifest, Repository, Tag
from registry_client import manifests
from registry_client.client import OCI_INDEX, OCI_MANIFEST, get_client
from testenv import images

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # the inventory: also on PostgreSQL


def _tags(repo: str) -> dict[str, Tag]:
    return {tag.name: tag for tag in Tag.objects.filter(repository__name=repo).select_related("manifest")}


def _referenced_bytes(repo: str, tag: str) -> int:
    client = get_client()
    manifest = client.get_manifest(repo, tag)
    children = [child for _, child in manifests.platform_entries(manifest.body)] if manifest.is_index else []
    blobs = manifests.blob_sizes(manifest.body) if not manifest.is_index else {}
    for child in children:
        blobs.update(manifests.blob_sizes(client.get_manifest(repo, child).body))
    return sum(blobs.values())


def test_it_stores_what_the_catalog_shows_and_fetches_each_digest_once(
    versioned_registry: Any, repo_prefix: str
) -> None:
    index, children = images.push_oci_index(versioned_registry.url, repo_prefix, "multi", with_attestation=True)
    image = images.push_oci_image(versioned_registry.url, repo_prefix, "single", layer_count=2, labels={"a": "b"})
    images.tag_existing(versioned_registry.url, repo_prefix, "again", image)

    figures = sync.reconcile()

    tags = _tags(repo_prefix)
    assert set(tags) == {"again", "multi", "single"}
    assert tags["single"].digest == tags["again"].digest == image
    assert tags["multi"].digest == index
    # The figures are the registry's own: each tag's size is the distinct blobs it references
    # there (an index: its platforms'), its date the one in its config.
    for name in ("again", "multi", "single"):
        assert tags[name].manifest.size == _referenced_bytes(repo_prefix, name) == tags[name].size
        assert tags[name].manifest.created == tags[name].created is not None
    assert tuple(tags["multi"].manifest.platforms) == ("linux/amd64", "linux/arm64/v8")
    assert (tags["multi"].manifest.kind, tags["single"].manifest.kind) == ("index", "image")
    assert (tags["multi"].manifest.media_type, tags["single"].manifest.media_type) == (OCI_INDEX, OCI_MANIFEST)
    config = json.loads(get_client().get_blob(repo_prefix, tags["single"].manifest.config_digest))
    assert tags["single"].manifest.created == manifests.parse_created(config["created"])
    multi = tags["multi"].manifest
    assert {c.platform: c.digest for c in multi.child_links.all()} == {
        "linux/amd64": children["linux/amd64"],
        "linux/arm64/v8": children["linux/arm64/v8"],
    }
    single = tags["single"].manifest
    body = get_client().get_manifest(repo_prefix, image).body
    assert [(link.blob.digest, link.blob.size) for link in single.blob_links.select_related("blob")] == [
        (d["digest"], d["size"]) for d in [body["config"], *body["layers"]]
    ]
    assert single.config["config"]["Labels"] == {"a": "b"}
    assert figures.fetched_manifests >= 4  # the index, its two platforms, the image
    assert Manifest.objects.filter(digest=children["linux/amd64"]).exists()

    # Nothing changed: no manifest or config fetched again; tags only HEADed.
    again = sync.reconcile()
    assert again.fetched_manifests == 0
    assert again.added_tags == again.removed_tags == again.moved_tags == 0
    assert again.requests["get"] == 0
    # Events are off here: every known tag is HEADed (the only way to see a tag move).
    assert again.requests["head"] == again.tags
    assert again.requests["catalog"] >= 1 and again.requests["tag_lists"] >= again.repositories
    assert again.requests["total"] == again.requests["catalog"] + again.requests["tag_lists"] + again.requests["head"]


def test_it_follows_a_push_a_move_and_a_delete_it_missed(versioned_registry: Any, repo_prefix: str) -> None:
    first = images.push_oci_image(versioned_registry.url, repo_prefix, "v1")
    sync.reconcile()
    assert _tags(repo_prefix)["v1"].digest == first

    second = images.push_oci_image(versioned_registry.url, repo_prefix, "v1")  # the tag moves
    images.push_oci_image(versioned_registry.url, repo_prefix, "v2")
    get_client().delete_manifest(repo_prefix, first)  # nothing points there any more

    figures = sync.reconcile()

    tags = _tags(repo_prefix)
    assert tags["v1"].digest == second
    assert set(tags) == {"v1", "v2"}
    assert figures.moved_tags >= 1
    assert not Manifest.objects.filter(digest=first).exists()  # unreferenced: pruned

    third = images.push_oci_image(versioned_registry.url, repo_prefix, "v3")
    get_client().delete_manifest(repo_prefix, third)
    get_client().delete_manifest(repo_prefix, second)
    sync.reconcile()
    assert set(_tags(repo_prefix)) == {"v2"}


def test_a_repository_gone_from_the_catalog_is_removed(versioned_registry: Any, repo_prefix: str) -> None:
    images.push_oci_image(versioned_registry.url, repo_prefix, "v1")
    sync.reconcile()
    Repository.objects.create(name=f"{repo_prefix}-gone")  # as if a directory was removed by hand
    Repository.objects.filter(name=f"{repo_prefix}-gone").update(first_seen="2000-01-01T00:00:00Z")
    sync.reconcile()
    assert Repository.objects.filter(name=repo_prefix).exists()
    assert not Repository.objects.filter(name=f"{repo_prefix}-gone").exists()


def test_with_events_arriving_known_tags_are_not_headed_again(
    versioned_registry: Any, repo_prefix: str, settings: Any, viewer_client: Any
) -> None:
    from django.utils import timezone

    from inventory import gaps
    from inventory.models import Event, EventsState

    images.push_oci_image(versioned_registry.url, repo_prefix, "v1")
    sync.reconcile()
    settings.REGISTRY_EVENTS_TOKEN = "t"
    Event.objects.create(event_id="e", timestamp=timezone.now(), action="push", repository=repo_prefix, processed=True)
    EventsState.objects.update_or_create(pk=1, defaults={"tracking_since": timezone.now()})  # as the applier does
    quiet = sync.reconcile()
    assert quiet.requests["head"] == 0 and quiet.requests["get"] == 0
    # The HEADs it skipped are reported apart from the requests it made, in the API too.
    assert quiet.skipped_heads == quiet.tags >= 1
    assert quiet.requests["total"] == quiet.requests["catalog"] + quiet.requests["tag_lists"]
    last_result = viewer_client.get("/api/v1/sync/").json()["last_result"]
    assert last_result["skipped_heads"] == quiet.tags and last_result["requests"]["head"] == 0
    # After an events gap, every known tag is checked again, once.
    gaps.record(timezone.now(), timezone.now(), "The registry restarted.")
    after_gap = sync.reconcile()
    assert after_gap.requests["head"] == after_gap.tags and after_gap.skipped_heads == 0
    assert sync.reconcile().requests["head"] == 0
    # A tag not confirmed for INVENTORY_VERIFY_AGE is checked again all the same.
    settings.INVENTORY_VERIFY_AGE = 0
    checked = sync.reconcile()
    assert checked.requests["head"] == checked.tags


def test_a_sync_confirms_each_tag_it_heads_and_sizes_each_repository_by_its_distinct_blobs(
    versioned_registry: Any, repo_prefix: str
) -> None:
    from django.utils import timezone

    image = images.push_oci_image(versioned_registry.url, repo_prefix, "v1", layer_count=2)
    images.tag_existing(versioned_registry.url, repo_prefix, "v2", image)
    sync.reconcile()
    assert set(_tags(repo_prefix)) == {"v1", "v2"}  # written once each, while the requests ran
    before = timezone.now()

    sync.reconcile()

    tags = _tags(repo_prefix)
    assert all(tag.checked_at is not None and tag.checked_at >= before for tag in tags.values())
    body = get_client().get_manifest(repo_prefix, image).body
    distinct = sum(d["size"] for d in [body["config"], *body["layers"]])  # two tags, one image
    assert Repository.objects.get(name=repo_prefix).size == distinct

"""The sync from the registry's storage files equals the sync over HTTP, and asks nothing when nothing changed."""

from __future__ import annotations

import datetime as dt
import gc
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory import sync, sync_files
from inventory.models import Attachment, Blob, Manifest, Repository, SyncState, Tag, TagLinkSeen
from inventory.tests.inventory_state import manifest_row, tag_row
from registry_client.client import get_client
from registry_files import layout
from testenv import images

pytestmark = [pytest.mark.django_db, pytest.mark.database]


def _push_everything(url: str, repo: str, major: int) -> dict[str, str]:
    index, _ = images.push_oci_index(url, repo, "multi", with_attestation=True)
    image = images.push_oci_image(url, repo, "single", layer_count=2, labels={"a": "b"})
    images.tag_existing(url, repo, "again", image)
    signature = images.push_cosign_signature(url, repo, image)
    sbom = images.push_artifact(
        url,
        repo,
        None,
        config=b"{}",
        config_media_type="application/vnd.oci.empty.v1+json",
        layers=[(b'{"spdxVersion": "SPDX-2.3"}', "application/spdx+json")],
        artifact_type="application/spdx+json",
        subject=images.Pushed(image, len(images.get_manifest(url, repo, image)[0])),
    )
    images.push_referrers_index(url, repo, image, [(sbom, "application/spdx+json")])
    images.push_helm_chart(url, f"{repo}/charts", "1.0.0", name="demo")
    gone = images.push_oci_image(url, f"{repo}/emptied", "old")
    get_client().delete_manifest(f"{repo}/emptied", gone)
    return {"index": index, "image": image, "signature": signature.digest}


def _state() -> dict[str, Any]:
    """What the inventory holds, by name and digest (no database ids)."""
    tags = {(t.repository.name, t.name): tag_row(t) for t in Tag.objects.select_related("repository")}
    manifests = {m.digest: manifest_row(m) for m in Manifest.objects.all()}
    return {
        "repositories": dict(Repository.objects.values_list("name", "size")),
        "tags": tags,
        "manifests": manifests,
        "blobs": set(Blob.objects.values_list("digest", "size", "media_type")),
    }


def _empty_inventory() -> None:
    Attachment.objects.all().delete()
    Tag.objects.all().delete()
    Manifest.objects.all().delete()
    Blob.objects.all().delete()
    Repository.objects.all().delete()
    SyncState.objects.all().delete()


def test_the_sync_from_files_equals_the_http_sync(
    versioned_registry: Any, settings: Any, repo_prefix: str, viewer_client: Client
) -> None:
    pushed = _push_everything(versioned_registry.url, repo_prefix, versioned_registry.major)
    before = timezone.now()

    settings.REGISTRY_DATA_DIR = ""
    over_http = sync_files.reconcile()
    assert over_http["source"] == "http" and "REGISTRY_DATA_DIR is not set" in over_http["source_reason"]
    expected = _state()
    _empty_inventory()

    settings.REGISTRY_DATA_DIR = str(versioned_registry.data_dir)
    from_files = sync_files.reconcile()

    assert from_files["source"] == "files", from_files["source_reason"]
    assert _state() == expected
    page = viewer_client.get(reverse("registry")).content.decode()
    assert "From its <strong>storage files</strong>" in page
    assert (repo_prefix, "single") in expected["tags"] and f"{repo_prefix}/emptied" in expected["repositories"]
    assert expected["tags"][(repo_prefix, f"sha256-{pushed['image'][7:]}.sig")][3] == pushed["image"]
    # The first sync from the files checked a few tags over HTTP, nothing else.
    assert 0 < from_files["requests"]["files_check"] == from_files["requests"]["total"] <= sync_files.CHECK_SAMPLE
    # Push times come from the tag links (no event here).
    single = Tag.objects.get(repository__name=repo_prefix, name="single")
    assert single.pushed_at is not None and before - dt.timedelta(minutes=5) < single.pushed_at <= timezone.now()

    # Nothing changed: no request at all, nothing written.
    again = sync_files.reconcile()
    assert again["source"] == "files"
    assert again["requests"]["total"] == 0
    assert again["added_tags"] == again["moved_tags"] == again["removed_tags"] == again["fetched_manifests"] == 0
    assert _state() == expected


def test_the_sync_from_files_runs_with_the_cyclic_collector_paused_and_resumes_it(
    versioned_registry: Any, settings: Any, repo_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its full collections found nothing to free and held the GIL for 0.8-0.9 s of a 6 s first
    sync at 10,000 repositories (core.collection)."""
    images.push_oci_image(versioned_registry.url, repo_prefix, "v1")
    settings.REGISTRY_DATA_DIR = str(versioned_registry.data_dir)
    from inventory import content

    store_many = content.store_many
    collector_on: list[bool] = []

    def storing(*args: Any, **kwargs: Any) -> int:
        collector_on.append(gc.isenabled())
        return store_many(*args, **kwargs)

    monkeypatch.setattr(content, "store_many", storing)
    gc.enable()
    assert sync_files.reconcile()["source"] == "files"
    assert collector_on and not any(collector_on)
    assert gc.isenabled()


def test_a_manifest_that_cannot_be_read_fails_the_sync_and_leaves_no_thread_reading(
    registry: Any, settings: Any, repo_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifests are read in threads while the walk goes on: a read that fails (a disk error,
    made here at our reader's boundary) fails the sync in its own thread, writes no tag, and
    leaves neither the walk nor a reading thread behind."""
    for number in range(3):
        images.push_oci_image(registry.url, f"{repo_prefix}/r{number}", "t", labels={"n": str(number)})
    settings.REGISTRY_DATA_DIR = str(registry.data_dir)
    broken = images.manifest_digest(registry.url, f"{repo_prefix}/r1", "t")
    read = sync_files.ManifestFiles.get_manifest

    def failing(self: Any, name: str, reference: str) -> Any:
        if reference == broken:
            raise OSError(5, "Input/output error")
        return read(self, name, reference)

    monkeypatch.setattr(sync_files.ManifestFiles, "get_manifest", failing)
    monkeypatch.setattr(sync_files, "READ_CHUNK", 1)  # a task per manifest: others still in flight

    with pytest.raises(OSError, match="Input/output error"):
        sync_files.reconcile_from_files(layout.StorageFiles(registry.data_dir))

    assert not Tag.objects.filter(repository__name__startswith=repo_prefix).exists()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(t.name.startswith("inventory-files") for t in threading.enumerate()):
        time.sleep(0.05)
    assert [t.name for t in threading.enumerate() if t.name.startswith("inventory-files")] == []

    monkeypatch.setattr(sync_files.ManifestFiles, "get_manifest", read)
    sync_files.reconcile_from_files(layout.StorageFiles(registry.data_dir))
    assert Tag.objects.filter(repository__name__startswith=repo_prefix).count() == 3


def test_a_moved_and_a_deleted_tag_are_seen_in_the_files(
    versioned_registry: Any, settings: Any, repo_prefix: str
) -> None:
    url = versioned_registry.url
    first = images.push_oci_image(url, repo_prefix, "moving")
    images.push_oci_image(url, repo_prefix, "doomed")
    settings.REGISTRY_DATA_DIR = str(versioned_registry.data_dir)
    assert sync_files.reconcile()["source"] == "files"

    second = images.push_oci_image(url, repo_prefix, "moving")
    get_client().delete_manifest(repo_prefix, images.manifest_digest(url, repo_prefix, "doomed") or "")
    result = sync_files.reconcile()

    assert result["source"] == "files"
    assert (result["moved_tags"], result["removed_tags"]) == (1, 1)
    assert 0 < result["requests"]["total"] <= sync_files.CHECK_SAMPLE  # changes: a sample checked over HTTP
    assert dict(Tag.objects.filter(repository__name=repo_prefix).values_list("name", "digest")) == {"moving": second}
    assert first != second


def test_a_tag_moved_back_is_caught_though_no_directory_of_its_repository_changed(
    versioned_registry: Any, settings: Any, repo_prefix: str
) -> None:
    """Why every tag link is read on every sync, none skipped by a directory's modification time: a
    tag moved back to a digest it had rewrites its ``current/link`` (and that digest's index link)
    and creates nothing, so neither ``_manifests/tags`` nor the tag's own directories change."""
    url = versioned_registry.url
    first = images.push_oci_image(url, repo_prefix, "moving")
    second = images.push_oci_image(url, repo_prefix, "moving")
    images.push_oci_image(url, f"{repo_prefix}/other", "still")
    settings.REGISTRY_DATA_DIR = str(versioned_registry.data_dir)
    assert sync_files.reconcile()["source"] == "files"
    tags_dir = Path(versioned_registry.data_dir) / "docker/registry/v2/repositories" / repo_prefix / "_manifests/tags"
    directories = [tags_dir, tags_dir / "moving", tags_dir / "moving/index/sha256"]
    before = [path.stat().st_mtime_ns for path in directories]

    images.tag_existing(url, repo_prefix, "moving", first)
    result = sync_files.reconcile()

    assert [path.stat().st_mtime_ns for path in directories] == before
    assert result["source"] == "files" and (result["moved_tags"], result["added_tags"]) == (1, 0)
    assert Tag.objects.get(repository__name=repo_prefix, name="moving").digest == first != second
    assert Tag.objects.get(repository__name=f"{repo_prefix}/other", name="still")


def test_a_link_whose_stat_is_unchanged_is_not_read_yet_a_tag_moved_back_is_caught(
    versioned_registry: Any, settings: Any, repo_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync with nothing changed stats each tag link it read before instead of reading it again;
    the registry rewrites a link when a tag moves (even back to a digest it had), which changes its
    modification time, so that link alone is read and the move is caught."""
    url = versioned_registry.url
    first = images.push_oci_image(url, repo_prefix, "moving")
    second = images.push_oci_image(url, repo_prefix, "moving")
    images.push_oci_image(url, f"{repo_prefix}/other", "still")
    settings.REGISTRY_DATA_DIR = str(versioned_registry.data_dir)
    mine = Path(versioned_registry.data_dir) / "docker/registry/v2/repositories" / repo_prefix
    long_ago = time.time() - 3600  # links read within 2 s of their write are read again (racy)
    for link in mine.rglob("current/link"):
        os.utime(link, (long_ago, long_ago))
    reads: list[tuple[str, str]] = []
    real = layout._read_link
    monkeypatch.setattr(
        layout, "_read_link", lambda path, repo, tag: reads.append((repo, tag)) or real(path, repo, tag)
    )

    def read_here() -> set[tuple[str, str]]:  # the sample check over HTTP reads its tags' links again
        return {(repo, tag) for repo, tag in reads if repo in (repo_prefix, f"{repo_prefix}/other")}

    assert sync_files.reconcile()["source"] == "files"
    assert read_here() == {(repo_prefix, "moving"), (f"{repo_prefix}/other", "still")}
    assert TagLinkSeen.objects.filter(repository=repo_prefix, tag="moving", digest=second).exists()
    reads.clear()
    assert sync_files.reconcile()["moved_tags"] == 0
    assert read_here() == set()

    images.tag_existing(url, repo_prefix, "moving", first)
    reads.clear()
    result = sync_files.reconcile()

    assert read_here() == {(repo_prefix, "moving")}
    assert result["source"] == "files" and (result["moved_tags"], result["added_tags"]) == (1, 0)
    assert Tag.objects.get(repository__name=repo_prefix, name="moving").digest == first != second
    assert TagLinkSeen.objects.get(repository=repo_prefix, tag="moving").digest == first


def test_a_tag_added_by_touching_the_files_only_is_found_and_the_registry_serves_it(
    registry: Any, settings: Any, repo_prefix: str
) -> None:
    """No push, no event: a tag link written beside the others (as the registry writes one) is a
    tag on the next sync, and the registry answers it over HTTP from that link alone."""
    digest = images.push_oci_image(registry.url, repo_prefix, "pushed")
    settings.REGISTRY_DATA_DIR = str(registry.data_dir)
    assert sync_files.reconcile()["source"] == "files"
    tags_dir = Path(registry.data_dir) / "docker/registry/v2/repositories" / repo_prefix / "_manifests/tags"
    link = tags_dir / "handmade" / "current" / "link"
    link.parent.mkdir(parents=True)
    link.write_text(digest)

    result = sync_files.reconcile()

    assert result["source"] == "files" and (result["added_tags"], result["moved_tags"]) == (1, 0)
    assert Tag.objects.get(repository__name=repo_prefix, name="handmade").digest == digest
    assert images.manifest_digest(registry.url, repo_prefix, "handmade") == digest


def test_without_usable_files_it_syncs_over_http_and_says_why(
    registry: Any, settings: Any, tmp_path: Path, repo_prefix: str, viewer_client: Client
) -> None:
    images.push_oci_image(registry.url, repo_prefix, "t")
    settings.REGISTRY_DATA_DIR = str(tmp_path)

    result = sync_files.reconcile()

    assert result["source"] == "http"
    assert f"REGISTRY_DATA_DIR={tmp_path}" in result["source_reason"] and "holds no" in result["source_reason"]
    assert result["requests"]["catalog"] >= 1
    assert Tag.objects.filter(repository__name=repo_prefix, name="t").exists()
    assert SyncState.current().last_result["source"] == "http"
    page = viewer_client.get(reverse("registry")).content.decode()
    assert "Over <strong>HTTP</strong>" in page and f"REGISTRY_DATA_DIR={tmp_path}" in page

    result = sync_files.reconcile(driver="s3")
    assert result["source"] == "http" and "'s3' storage driver" in result["source_reason"]


def test_files_that_disagree_with_the_registry_are_reported_and_not_trusted(
    registry: Any, settings: Any, tmp_path: Path, repo_prefix: str
) -> None:
    """Another registry's directory mounted by mistake: its tags are not the registry's."""
    images.push_oci_image(registry.url, repo_prefix, "t")
    link = tmp_path / "docker/registry/v2/repositories" / repo_prefix / "_manifests/tags/t/current/link"
    link.parent.mkdir(parents=True)
    link.write_text("sha256:" + uuid.uuid4().hex * 2)
    settings.REGISTRY_DATA_DIR = str(tmp_path)

    result = sync_files.reconcile()

    assert result["source"] == "http"
    assert "disagree" in result["source_reason"] and f"{repo_prefix}:t" in result["source_reason"]
    assert Tag.objects.get(repository__name=repo_prefix, name="t").digest == images.manifest_digest(
        registry.url, repo_prefix, "t"
    )
    assert sync.synced_once()

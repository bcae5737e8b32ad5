"""A GC that cannot sweep what a tag reaches: checked against the storage files before and after."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from jobs.models import Job
from maintenance import gc
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import blob_path, delete_image, gc_job, manifest_blobs, tree_hashes, unique
from testenv import images

pytestmark = pytest.mark.django_db


def _layers(url: str, repo: str, reference: str) -> list[str]:
    body, _ = images.get_manifest(url, repo, reference)
    return [layer["digest"] for layer in json.loads(body)["layers"]]


def test_a_sweep_whose_dry_run_lists_a_blob_a_tag_reaches_is_refused_before_deleting_anything(
    private_registry: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, repo = private_registry.url, unique("guard")
    images.push_oci_index(url, repo, "multi", with_attestation=True)
    images.push_oci_image(url, repo, "kept")
    doomed = images.push_oci_image(url, repo, "doomed")
    doomed_blobs = manifest_blobs(private_registry, repo, doomed)
    delete_image(private_registry, repo, doomed)
    reached = _layers(url, repo, "kept")[0]
    settings.REGISTRY_DATA_DIR = str(private_registry.data_dir)
    real = gc.GarbageCollection.dry_run_eligible

    def listing_a_reached_blob(self: gc.GarbageCollection, container: Any) -> list[str]:
        # The one fault the real registry cannot be made to produce (distribution#4939).
        return [*real(self, container), reached]

    monkeypatch.setattr(gc.GarbageCollection, "dry_run_eligible", listing_a_reached_blob)
    before = tree_hashes(private_registry.data_dir)

    job = gc_job(mode="online")
    gc.run(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Refused before deleting anything" in job.error
    assert reached in job.error and f"{repo}:kept" in job.error
    assert job.result["check_before_sweep"]["overlap"] == [{"blob": reached, "tags": [f"{repo}:kept"]}]
    assert job.result["check_before_sweep"]["eligible"] >= len(doomed_blobs) + 1
    # Nothing was swept: the deleted image's blobs are still there, every file as it was.
    assert all(blob_path(private_registry, digest).exists() for digest in doomed_blobs)
    assert tree_hashes(private_registry.data_dir) == before
    assert "blobs marked" not in job.output  # the sweep's command never ran


@BOTH_VERSIONS
def test_a_real_gc_with_the_files_is_checked_before_and_after_the_sweep(private_registry: Any, settings: Any) -> None:
    url, repo = private_registry.url, unique("checked")
    index, children = images.push_oci_index(url, repo, "multi", with_attestation=True)
    kept = images.push_oci_image(url, repo, "kept")
    images.push_cosign_signature(url, repo, kept)
    doomed = images.push_oci_image(url, repo, "doomed")
    doomed_blobs = [
        d
        for d in manifest_blobs(private_registry, repo, doomed)
        if d not in manifest_blobs(private_registry, repo, kept)
    ]
    delete_image(private_registry, repo, doomed)
    settings.REGISTRY_DATA_DIR = str(private_registry.data_dir)

    job = gc_job(mode="read-only")
    gc.run(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["storage_files"]["source"] == "files"
    before = job.result["check_before_sweep"]
    assert before["overlap"] == [] and before["eligible"] == job.result["blobs_eligible"]
    after = job.result["check_after_sweep"]
    assert after["missing"] == [] and after["present"] == after["reached_blobs"] > 0
    assert not any(blob_path(private_registry, digest).exists() for digest in doomed_blobs)
    for digest in [index, *children.values(), kept, *manifest_blobs(private_registry, repo, "kept")]:
        assert blob_path(private_registry, digest).exists()
    assert requests.get(f"{url}/v2/{repo}/manifests/kept", headers={"Accept": images.ACCEPT_ALL}, timeout=10).ok


def test_without_the_files_a_gc_runs_as_before_and_says_why(private_registry: Any, settings: Any) -> None:
    settings.REGISTRY_DATA_DIR = ""
    job = gc_job(mode="online")
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["storage_files"]["source"] == "http"
    assert "No check against the storage files: REGISTRY_DATA_DIR is not set" in job.output
    assert "check_before_sweep" not in job.result

"""The GC worked out from the files equals a real GC dry run, blob for blob, on v3.1.1 and 2.8."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from registry_files.gc import predict, tag_reach, untagged_manifests
from registry_files.layout import StorageFiles
from testenv import images

ELIGIBLE = re.compile(r"blob eligible for deletion: (sha256:[0-9a-f]{64})")
SUMMARY = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion")


def _dry_run(registry: Any, *flags: str) -> tuple[set[str], int]:
    code, output = registry.garbage_collect("--dry-run", *flags)
    assert code == 0, output
    summary = SUMMARY.search(output)
    assert summary, output
    return set(ELIGIBLE.findall(output)), int(summary[3])


def _delete(url: str, repo: str, reference: str) -> None:
    import requests

    digest = images.manifest_digest(url, repo, reference)
    answer = requests.delete(f"{url}/v2/{repo}/manifests/{digest}", timeout=10)
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize("delete_untagged", [False, True])
def test_the_prediction_equals_a_dry_run_blob_for_blob_before_and_after_deletes(
    each_registry: Any, delete_untagged: bool
) -> None:
    if delete_untagged and each_registry.major == 2:
        pytest.skip("--delete-untagged on 2.x deletes the children of indexes: the dashboard refuses it")
    url, repo = each_registry.url, f"files-gc-{uuid.uuid4().hex[:6]}"
    index, children = images.push_oci_index(url, repo, "multi", with_attestation=True)
    image = images.push_oci_image(url, repo, "single", layer_count=2)
    images.push_cosign_signature(url, repo, image)
    first = images.push_oci_image(url, repo, "moved")
    images.push_oci_image(url, repo, "moved")  # the first one is now untagged
    files = StorageFiles(each_registry.data_dir)
    flags = ("--delete-untagged",) if delete_untagged else ()

    for deleting in ("single", "multi", None):
        eligible, manifests = _dry_run(each_registry, *flags)
        prediction = predict(files, delete_untagged=delete_untagged, v3=each_registry.major == 3)
        assert set(prediction.eligible) == eligible
        assert prediction.manifests_eligible == manifests
        for digest, size in prediction.eligible.items():
            assert size == files.blob_path(digest).stat().st_size
        if deleting:  # by digest: every tag on it goes, the manifest stays until a GC
            _delete(url, repo, deleting)

    # Deleted by digest: their revision links went, so their blobs are eligible either way.
    assert image not in files.revisions(repo) and {image, index} <= set(prediction.eligible)
    # The first "moved" image, and the index's platforms and attestations (only their index went).
    untagged = untagged_manifests(files)[repo]
    assert first in untagged and set(children.values()) <= set(untagged) and len(untagged) == 5
    assert (first in prediction.eligible) is delete_untagged


def test_the_tags_reach_indexes_platforms_and_artifacts(registry: Any) -> None:
    url, repo = registry.url, f"files-reach-{uuid.uuid4().hex[:6]}"
    index, children = images.push_oci_index(url, repo, "multi", with_attestation=True)
    image = images.push_oci_image(url, repo, "single")
    signature = images.push_cosign_signature(url, repo, image)
    files = StorageFiles(registry.data_dir)

    reach = tag_reach(files)

    assert reach[index] == {f"{repo}:multi"}
    for child in children.values():
        assert reach[child] == {f"{repo}:multi"}
    assert reach[image] == {f"{repo}:single"}
    assert reach[signature.digest] == {f"{repo}:sha256-{image[7:]}.sig"}
    body = images.get_manifest(url, repo, image)[0]
    import json

    for layer in json.loads(body)["layers"]:
        assert f"{repo}:single" in reach[layer["digest"]]

"""Delete, then reclaim: what the delete dialog and the API promise a garbage collection frees, it frees.

registry:3 removes only the tag, so its manifest stays untagged and a default GC frees nothing;
the dialog offers (ticked) to delete that manifest too and names the bytes. 2.x deletes the
manifest with its last tag. Each promise is checked by running the real GC afterwards, on the
real v3.1.1 and 2.8.2 registries.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from catalog import deletion
from catalog.tests.registry3 import DeleteSpy
from core.models import AuditEntry
from jobs.models import Job
from maintenance import gc, gc_requests
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import blob_path, manifest_blobs
from registry_client.client import ManifestRef
from testenv import images
from testenv.services import RegistryService

HTMX = {"HX-Request": "true"}
LAYER = 300_000  # random bytes: gzip cannot shrink them, so the figures are the layer's size


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def fingerprint(response: Any) -> str:
    return re.search(r'name="confirm" value="([0-9a-f]+)"', response.content.decode())[1]  # type: ignore[index]


def shown_bytes(response: Any) -> int:
    found = re.search(r'data-testid="delete-reclaim-bytes" data-bytes="(\d+)"', response.content.decode())
    assert found, text(response)
    return int(found[1])


def push_image(registry: RegistryService, repo: str, tag: str) -> str:
    return images.push_oci_image(registry.url, repo, tag, layers=[os.urandom(LAYER)])


def run_gc(**params: Any) -> Job:
    job = Job.objects.create(
        kind=Job.Kind.GC, params={"dry_run": False, "delete_untagged": False, "mode": "online", **params}
    )
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    return job


@BOTH_VERSIONS
@pytest.mark.django_db(transaction=True)
def test_deleting_the_last_tag_through_the_dialog_frees_what_it_says(
    operator_client: Client, private_registry: RegistryService
) -> None:
    repo = f"reclaim/{uuid.uuid4().hex[:8]}"
    digest = push_image(private_registry, repo, "1.0")
    push_image(private_registry, repo, "2.0")  # stays
    going = manifest_blobs(private_registry, repo, "1.0")
    url = f"/catalog/r/{repo}/-/delete/"

    preview = operator_client.post(url, {"tags": ["1.0"]}, headers=HTMX)
    assert preview.status_code == 200
    promised = shown_bytes(preview)
    assert LAYER < promised < LAYER + 5_000  # the layer and the config
    if private_registry.major == 3:
        assert 'name="prune" value="1" checked' in preview.content.decode()  # offered, ticked
        assert "Also delete the 1 manifest these tags leave untagged" in text(preview)
    else:
        assert 'name="prune"' not in preview.content.decode()  # 2.x deletes it anyway
        assert "Removes tag 1.0 and its manifest sha256:" in text(preview)
        assert "which no other tag points to" in text(preview)  # the sentence of the dialog (issue 25)

    form = {"tags": ["1.0"], "confirm": fingerprint(preview), **({"prune": "1"} if private_registry.major == 3 else {})}
    done = operator_client.post(url, form, headers=HTMX)
    assert done.status_code == 200
    assert "next garbage collection frees up to" in text(done) and shown_bytes(done) == promised
    assert images.manifest_digest(private_registry.url, repo, digest) is None  # the manifest went

    job = run_gc()
    assert job.result["bytes_freed"] >= promised
    for blob in going[1:]:
        assert not blob_path(private_registry, blob).exists()
    assert images.manifest_digest(private_registry.url, repo, "2.0") is not None


@pytest.mark.parametrize("private_registry", ["v3"], indirect=True)
@pytest.mark.django_db(transaction=True)
def test_on_registry_3_without_pruning_the_manifest_stays_and_every_page_says_so(
    operator_client: Client, private_registry: RegistryService
) -> None:
    repo = f"reclaim/{uuid.uuid4().hex[:8]}"
    digest = push_image(private_registry, repo, "1.0")
    going = manifest_blobs(private_registry, repo, "1.0")
    url = f"/catalog/r/{repo}/-/delete/"
    preview = operator_client.post(url, {"tags": ["1.0"]}, headers=HTMX)
    promised = shown_bytes(preview)
    done = operator_client.post(url, {"tags": ["1.0"], "confirm": fingerprint(preview)}, headers=HTMX)  # unticked
    assert "stay in the registry, untagged" in text(done) and "Delete untagged manifests" in text(done)
    assert images.manifest_digest(private_registry.url, repo, digest) == digest

    # What the note says: a default dry run finds nothing, says why, and counts the untagged manifest.
    dry = run_gc(dry_run=True)
    assert dry.result["blobs_eligible"] == 0
    assert dry.result["untagged"]["manifests"] == 1 and dry.result["untagged"]["bytes"] >= promised
    assert "1 manifest no tag names any more" in gc_requests.why_nothing(dry)
    page = operator_client.get("/maintenance/").content.decode()
    assert 'data-testid="gc-untagged"' in page and 'data-testid="gc-why-nothing"' in page
    run_gc()  # the default real run frees nothing of it
    assert all(blob_path(private_registry, blob).exists() for blob in going[1:])
    run_gc(delete_untagged=True)  # ... and --delete-untagged frees what the page said
    assert not any(blob_path(private_registry, blob).exists() for blob in going[1:])


@pytest.mark.django_db
def test_the_api_prunes_on_request_and_answers_deleted_manifest(
    operator_client: Client, registry_v3: RegistryService, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REGISTRY_URL = registry_v3.url
    sent = DeleteSpy.install(monkeypatch)
    repo = f"reclaim/{uuid.uuid4().hex[:8]}"
    digest = images.push_oci_image(registry_v3.url, repo, "1.0")
    images.tag_existing(registry_v3.url, repo, "stable", digest)
    other = images.push_oci_image(registry_v3.url, repo, "2.0")

    # A tag with a sibling: prune deletes nothing more.
    shared = operator_client.delete(f"/api/v1/repositories/{repo}/tags/stable/?prune=true")
    assert shared.status_code == 200
    assert shared.json() == {"removed_tags": ["stable"], "deleted_manifest": None}
    # The last tag: its manifest goes too, named as a manifest delete names it.
    last = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/?prune=true")
    assert last.json() == {"removed_tags": ["1.0"], "deleted_manifest": digest}
    assert sent.digests == [digest]
    assert images.manifest_digest(registry_v3.url, repo, digest) is None
    # Without prune the contract is unchanged: the tag only.
    plain = operator_client.delete(f"/api/v1/repositories/{repo}/tags/2.0/")
    assert plain.json() == {"removed_tags": ["2.0"], "deleted_manifest": None}
    assert images.manifest_digest(registry_v3.url, repo, other) == other
    entry = AuditEntry.objects.get(repository=repo, tag="1.0")
    assert entry.detail == f"Deleted tag 1.0, then its manifest {digest}, which no tag named any more."
    assert operator_client.delete(f"/api/v1/repositories/{repo}/tags/x/?prune=maybe").status_code == 400


@pytest.mark.django_db
def test_the_bulk_api_lists_what_it_can_prune_and_prunes_it(
    operator_client: Client, registry_v3: RegistryService, settings: Any
) -> None:
    settings.REGISTRY_URL = registry_v3.url
    repo = f"reclaim/{uuid.uuid4().hex[:8]}"
    alone = images.push_oci_image(registry_v3.url, repo, "1.0")
    shared = images.push_oci_image(registry_v3.url, repo, "2.0")
    images.tag_existing(registry_v3.url, repo, "latest", shared)
    url = f"/api/v1/repositories/{repo}/bulk-delete/"
    body = {"tags": ["1.0", "2.0"], "dry_run": True}
    preview = operator_client.post(url, body, content_type="application/json").json()
    assert preview["prunable_manifests"] == [alone] and preview["deleted_manifests"] == []
    assert preview["reclaimable_bytes"] > 0
    done = operator_client.post(url, {**body, "dry_run": False, "prune": True}, content_type="application/json").json()
    assert done["deleted_manifests"] == [alone]
    by_tag = {r["tag"]: r for r in done["results"]}
    assert by_tag["1.0"]["deleted_manifest"] == alone and by_tag["2.0"]["deleted_manifest"] is None
    assert images.manifest_digest(registry_v3.url, repo, "latest") == shared
    assert images.manifest_digest(registry_v3.url, repo, alone) is None


def test_an_untagged_index_takes_its_untagged_platforms_along() -> None:
    oci, index = "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"
    scan = deletion.RepositoryScan(
        name="x",
        refs={
            "multi": ManifestRef("sha256:i", index, 1),
            "other": ManifestRef("sha256:j", index, 1),
            "amd64": ManifestRef("sha256:a", oci, 1),
        },
        children={"sha256:i": frozenset({"sha256:a", "sha256:b", "sha256:c"}), "sha256:j": frozenset({"sha256:c"})},
    )
    # b is only in the index; a keeps its own tag; c is also in the index that stays.
    assert deletion.left_untagged(scan, ["multi"]) == ("sha256:i", "sha256:b")
    assert deletion.left_untagged(scan, ["amd64"]) == ()  # still in the tagged index


@pytest.mark.parametrize("private_registry", ["v2"], indirect=True)
@pytest.mark.django_db(transaction=True)
def test_on_2_8_a_dry_run_that_finds_nothing_says_why(private_registry: RegistryService) -> None:
    push_image(private_registry, f"reclaim/{uuid.uuid4().hex[:8]}", "1.0")
    job = run_gc(dry_run=True)
    assert job.result["blobs_eligible"] == 0 and job.result["bytes_eligible"] == 0
    assert gc_requests.outcome(job) == "Dry run: nothing to free."
    assert "Deleting an image's last tag in the catalog deletes its manifest" in gc_requests.why_nothing(job)
    assert "untagged" not in job.result  # 2.x: --delete-untagged is refused, so not offered


@pytest.mark.parametrize("private_registry", ["v3"], indirect=True)
@pytest.mark.django_db(transaction=True)
def test_on_registry_3_a_dry_run_that_finds_nothing_says_why(private_registry: RegistryService) -> None:
    push_image(private_registry, f"reclaim/{uuid.uuid4().hex[:8]}", "1.0")
    job = run_gc(dry_run=True)
    assert job.result["blobs_eligible"] == 0 and job.result["untagged"]["manifests"] == 0
    assert gc_requests.outcome(job) == "Dry run: nothing to free."
    assert "no manifest is untagged: delete images in the catalog first" in gc_requests.why_nothing(job)


@pytest.mark.django_db
def test_what_a_collection_freed_is_read_from_the_fields_deletes_record_not_from_their_sentences() -> None:
    repo = f"fields/{uuid.uuid4().hex[:8]}"
    image, untagged, artifact, signature = ("sha256:" + c * 64 for c in "abcd")

    def deleted(tag: str, digest: str, detail: str, **fields: Any) -> None:
        AuditEntry.objects.create(
            action="delete-tag",
            outcome="succeeded",
            repository=repo,
            tag=tag,
            digest=digest,
            detail=detail,
            fields=fields,
        )

    deleted("1.0", image, "Worded anyhow.", by="digest", deleted_manifests=[image], attached=[artifact])
    # Only the tag went (registry:3): its manifest stays, whatever the sentence says.
    deleted(
        "2.0", untagged, "Deleted manifest: a sentence that would once have counted.", by="tag", deleted_manifests=[]
    )
    deleted(f"sha256-{'a' * 64}.sig", signature, "Worded anyhow.", by="digest", deleted_manifests=[signature])
    # An entry recorded without fields (no delete of a manifest) is skipped, not an error.
    AuditEntry.objects.create(action="delete-tag", outcome="succeeded", repository=repo, tag="3.0", digest=image)
    job = Job.objects.create(kind=Job.Kind.GC, params={"dry_run": False, "delete_untagged": False, "mode": "online"})
    assert gc_requests.deleted(job) == {
        repo: gc_requests.Deleted(images=frozenset({image}), artifacts=frozenset({artifact, signature}))
    }
    assert gc_requests.deleted_images(job) == {repo: 1}

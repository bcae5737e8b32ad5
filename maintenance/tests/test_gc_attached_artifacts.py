"""Deleting an image with its signature and SBOMs, then collecting: they go with it and count with it.

Real v3.1.1 and 2.8.2 registries whose notifications reach the live test server (an SBOM pushed
by digest and listed nowhere is known only from its push event), a real bulk delete through
the API, a real garbage collection; the GC's outcome counts one image, with its artifacts.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from inventory import services as inventory_services
from inventory import sync
from inventory.models import Attachment, Event
from jobs.models import Job
from maintenance import gc, gc_requests
from maintenance.tests.gc_helpers import blob_path
from testenv import images
from testenv.services import RegistryService, start_registry

TOKEN = "gc-attached-token"
LAYER = 200_000


def _within(seconds: float, check: Any) -> None:
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            if check():
                return
        except OperationalError:  # the test database (SQLite, shared cache) is locked by the events thread
            pass
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def _reconcile() -> None:
    """A reconcile once the events thread is idle: the test database (SQLite, shared cache)
    fails rather than waits while another thread writes."""
    for _ in range(50):
        try:
            _within(10.0, lambda: not Event.objects.filter(processed=False).exists())
            sync.reconcile()
            return
        except OperationalError:
            time.sleep(0.2)
    raise AssertionError("the test database stayed locked")


@pytest.fixture(params=["v3", "v2"])
def notifying_private_registry(
    request: pytest.FixtureRequest, engine: Any, live_server: Any, settings: Any
) -> Iterator[RegistryService]:
    """A registry container of its own (GC runs in it) sending its events to the live server."""
    image = engine.registry_images.get(int(request.param[1:]))
    if image is None:
        pytest.skip(f"no {request.param} registry image")
    settings.REGISTRY_EVENTS_TOKEN = TOKEN
    value = inventory_services.notifications_setting(f"{live_server.url}/api/v1/events/", TOKEN)
    name = f"gcart-{uuid.uuid4().hex[:6]}"
    registry = start_registry(engine, name=name, env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": value}, image=image)
    settings.REGISTRY_CONTAINER = name
    settings.REGISTRY_URL = registry.url
    try:
        yield registry
    finally:
        registry.remove()


def _sbom(url: str, repo: str, subject: images.Pushed, name: str) -> images.Pushed:
    return images.push_artifact(
        url,
        repo,
        None,
        config=b"{}",
        config_media_type=images.OCI_EMPTY,
        layers=[
            (
                json.dumps({"spdxVersion": "SPDX-2.3", "name": name, "pad": os.urandom(8).hex()}).encode(),
                images.SPDX_JSON,
            )
        ],
        artifact_type=images.SPDX_JSON,
        subject=subject,
    )


def _layer_digests(url: str, repo: str, digest: str) -> list[str]:
    body = json.loads(images.get_manifest(url, repo, digest)[0])
    return [layer["digest"] for layer in body["layers"]]


@pytest.mark.django_db(transaction=True)
def test_an_image_deleted_with_its_signature_and_sboms_is_collected_and_counted_as_one_image(
    notifying_private_registry: RegistryService, operator_client: Client
) -> None:
    registry = notifying_private_registry
    url, repo = registry.url, "team/signed"
    digest = images.push_oci_image(url, repo, "1.0", layers=[os.urandom(LAYER)])
    image = images.Pushed(digest, len(images.get_manifest(url, repo, "1.0")[0]))
    images.push_oci_image(url, repo, "2.0", layers=[os.urandom(LAYER)])  # stays
    signature = images.push_cosign_signature(url, repo, digest)
    listed = _sbom(url, repo, image, "listed")  # in the referrers index tag sha256-<hex>
    images.push_referrers_index(url, repo, digest, [(listed, images.SPDX_JSON)])
    unlisted = _sbom(url, repo, image, "unlisted")  # known only from its push event
    _within(10.0, lambda: Attachment.objects.filter(manifest__digest=unlisted.digest).exists())
    _reconcile()
    artifact_blobs = _layer_digests(url, repo, listed.digest) + _layer_digests(url, repo, unlisted.digest)
    artifact_blobs += _layer_digests(url, repo, signature.digest)

    def bulk(**body: Any) -> dict[str, Any]:
        answer = operator_client.post(
            f"/api/v1/repositories/{repo}/bulk-delete/", body, content_type="application/json"
        )
        assert answer.status_code == 200, answer.content
        return answer.json()

    preview = bulk(tags=["1.0"], dry_run=True)
    assert set(preview["attached_manifests"]) >= {unlisted.digest, listed.digest}
    done = bulk(tags=["1.0"], prune=True)
    assert set(done["attached_manifests"]) == {unlisted.digest, listed.digest}

    for reference in (digest, signature.digest, listed.digest, unlisted.digest):
        assert images.manifest_digest(url, repo, reference) is None, reference
    assert images.manifest_digest(url, repo, "2.0") is not None

    job = Job.objects.create(kind=Job.Kind.GC, params={"dry_run": False, "delete_untagged": False, "mode": "online"})
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output

    # The artifacts' blobs are freed with the image's ...
    for blob in artifact_blobs:
        assert not blob_path(registry, blob).exists(), blob
    assert job.result["bytes_freed"] >= LAYER
    # ... and counted under it: one image, its signature, referrers index and two SBOMs with it.
    assert gc_requests.deleted_images(job) == {repo: 1}
    assert len(gc_requests.deleted(job)[repo].artifacts) == 4
    outcome = gc_requests.outcome(job)
    assert f"from 1 image in {repo} (with its 4 attached artifacts)." in outcome, outcome
    page = operator_client.get(f"/maintenance/?job={job.pk}").content.decode()
    assert f"from 1 image in {repo} (with its 4 attached artifacts)" in page

"""An artifact pushed by digest with a ``subject`` and listed in no referrers index (issue 15).

The registry lists no untagged manifest and v3 has no referrers API: only its push event tells
of it. Real pushes to v3.1.1 and 2.8.2, whose notifications reach the live test server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from django.db import OperationalError
from django.test import Client

from inventory import sync
from inventory.models import Attachment, Event, Manifest, Tag
from inventory.tests.test_events_live import notifying_registry, within  # noqa: F401 (a fixture)
from testenv import images
from testenv.services import RegistryService


def _sbom(url: str, repo: str, subject: images.Pushed, name: str = "sbom") -> images.Pushed:
    return images.push_artifact(
        url,
        repo,
        None,  # by digest, no referrers index: only the push event names it
        config=b"{}",
        config_media_type=images.OCI_EMPTY,
        layers=[(json.dumps({"spdxVersion": "SPDX-2.3", "name": name}).encode(), images.SPDX_JSON)],
        artifact_type=images.SPDX_JSON,
        subject=subject,
    )


def _subject(url: str, repo: str, tag: str) -> images.Pushed:
    digest = images.push_oci_image(url, repo, tag)
    return images.Pushed(digest, len(images.get_manifest(url, repo, tag)[0]))


def _reconcile() -> None:
    """A reconcile once the events thread is idle: the test database (SQLite, shared cache)
    answers "table is locked" rather than waiting while another thread writes."""
    for _ in range(50):
        try:
            within(5.0, lambda: not Event.objects.filter(processed=False).exists())
            sync.reconcile()
            return
        except OperationalError:
            time.sleep(0.1)
    raise AssertionError("the test database stayed locked")


def _attached(client: Client, repo: str, tag: str) -> set[str]:
    answer = client.get(f"/api/v1/repositories/{repo}/tags/")
    assert answer.status_code == 200, answer.content
    rows = {row["name"]: row for row in answer.json()["results"]}
    return {item["digest"] for item in rows[tag]["attached"]}


@pytest.mark.django_db(transaction=True)
def test_an_sbom_pushed_by_digest_is_attached_to_its_image_from_its_push_event(
    notifying_registry: RegistryService,  # noqa: F811
    viewer_client: Client,
) -> None:
    url, repo = notifying_registry.url, "team/app"
    image = _subject(url, repo, "1.0")
    elsewhere = _subject(url, "team/other", "1.0")
    within(3.0, lambda: Tag.objects.filter(repository__name="team/other").exists())
    _reconcile()  # the pages read the inventory from here on

    sbom = _sbom(url, repo, image)
    stray = _sbom(url, repo, elsewhere, name="stray")  # its subject is in another repository

    within(2.0, lambda: Attachment.objects.filter(manifest__digest=sbom.digest).exists())
    attachment = Attachment.objects.select_related("repository", "manifest").get(manifest__digest=sbom.digest)
    assert attachment.repository.name == repo and attachment.subject == image.digest
    assert attachment.manifest.kind == "sbom" and attachment.pushed_at is not None
    time.sleep(0.5)
    assert not Attachment.objects.filter(manifest__digest=stray.digest).exists()

    # The tag table's row carries it, the image page lists it, it opens by its digest.
    assert _attached(viewer_client, repo, "1.0") == {sbom.digest}
    rows = viewer_client.get(f"/api/v1/repositories/{repo}/tags/").json()["results"]
    assert [row["name"] for row in rows] == ["1.0"]  # not a row of its own
    page = viewer_client.get(f"/catalog/r/{repo}/-/t/1.0/").content.decode()
    assert page.count('data-testid="attached-kind"') == 1 and f"/catalog/r/{repo}/-/m/{sbom.digest}/" in page
    opened = viewer_client.get(f"/api/v1/repositories/{repo}/manifests/{sbom.digest}/")
    assert opened.status_code == 200 and opened.json()["kind"] == "sbom"

    # The reconcile cannot list it, and keeps it while its subject is there.
    _reconcile()
    assert _attached(viewer_client, repo, "1.0") == {sbom.digest}
    assert Manifest.objects.filter(digest=sbom.digest).exists()

    # Deleted on the registry, the subject takes it along in the inventory.
    assert requests.delete(f"{url}/v2/{repo}/manifests/{image.digest}", timeout=5).status_code == 202
    within(2.0, lambda: not Attachment.objects.filter(manifest__digest=sbom.digest).exists())
    _reconcile()
    assert not Manifest.objects.filter(digest=sbom.digest).exists()


@pytest.mark.django_db(transaction=True)
def test_the_reconcile_drops_an_attached_artifact_when_its_subject_went_unnoticed(
    notifying_registry: RegistryService,  # noqa: F811
    settings: Any,
) -> None:
    url, repo = notifying_registry.url, "team/quiet"
    image = _subject(url, repo, "1.0")
    kept = _subject(url, repo, "2.0")
    sbom = _sbom(url, repo, image)
    other_sbom = _sbom(url, repo, kept, name="kept")
    within(3.0, lambda: Attachment.objects.filter(repository__name=repo).count() == 2)

    settings.REGISTRY_EVENTS_TOKEN = "another-token"  # the registry's events are refused from here on
    assert requests.delete(f"{url}/v2/{repo}/manifests/{image.digest}", timeout=5).status_code == 202
    time.sleep(0.5)
    assert Attachment.objects.filter(manifest__digest=sbom.digest).exists()  # nothing told the inventory

    _reconcile()

    assert list(Attachment.objects.values_list("manifest__digest", flat=True)) == [other_sbom.digest]
    assert not Manifest.objects.filter(digest=sbom.digest).exists()
    assert Manifest.objects.filter(digest=other_sbom.digest).exists()
    # The repository's size no longer counts the dropped artifact's blobs: the attachments were
    # dropped before the sizes were worked out, not after (nothing left to refresh).
    assert sync.changed_repositories([repo]) == []

"""Protected tags: every delete path of the dashboard refuses them, on v3.1.1 and on 2.8.2.

A refusal is a 409 naming the rule, an audit entry with outcome "refused", and a registry
left exactly as it was (every tag still on its digest).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from django.test import Client

from catalog import deletion
from catalog.models import ProtectedTag
from core.models import AuditEntry
from registry_client.client import get_client
from testenv import images
from testenv.services import RegistryService

HTMX = {"HX-Request": "true"}


@pytest.fixture
def repo(services: Any) -> str:
    return f"protect/{uuid.uuid4().hex[:10]}"


def state(registry: RegistryService, repo: str) -> dict[str, str]:
    """Every tag of the repository with its digest, read from the registry itself."""
    answer = requests.get(f"{registry.url}/v2/{repo}/tags/list", timeout=10)
    answer.raise_for_status()
    tags = answer.json().get("tags") or []
    return {tag: images.manifest_digest(registry.url, repo, tag) or "" for tag in tags}


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def protect(repositories: str, tags: str) -> ProtectedTag:
    return ProtectedTag.objects.create(repositories=repositories, tags=tags)


def refusals(repo: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(repository=repo, outcome="refused").order_by("id"))


@pytest.mark.django_db
def test_a_protected_tag_is_refused_with_409_naming_the_rule_and_nothing_changes(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    images.push_oci_image(registry.url, repo, "latest")
    images.push_oci_image(registry.url, repo, "build-1")
    rule = protect("protect/*", "^latest$")
    before = state(registry, repo)

    response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/latest/?force=true")

    assert response.status_code == 409
    body = response.json()
    assert f'protected by rule {rule.pk}: repositories "protect/*", tags "^latest$"' in body["detail"]
    assert body["protected"] == [{"tag": "latest", "protected_by": rule.describe()}]
    assert state(registry, repo) == before
    [entry] = refusals(repo)
    assert entry.action == "delete-tag" and entry.tag == "latest" and rule.describe() in entry.detail


@pytest.mark.django_db
def test_a_tag_sharing_its_manifest_with_a_protected_tag_goes_alone_on_v3_and_stays_on_2x_even_forced(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    digest = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", digest)
    rule = protect("**", "^stable$")
    before = state(registry, repo)

    response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/?force=true")

    if registry.major == 3:  # the tag goes alone; the protected tag and the manifest stay
        assert response.status_code == 200
        assert response.json() == {"removed_tags": ["1.0"], "deleted_manifest": None}
        assert state(registry, repo) == {"stable": digest}
        return
    assert response.status_code == 409
    body = response.json()
    assert "stable" in body["detail"] and rule.describe() in body["detail"]
    assert body["protected"] == [{"tag": "1.0", "protected_by": rule.describe()}]
    assert state(registry, repo) == before
    assert [entry.tag for entry in refusals(repo)] == ["1.0"]


@pytest.mark.django_db
def test_a_manifest_delete_that_would_take_a_protected_tag_is_refused(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    digest = images.push_oci_image(registry.url, repo, "v1.2.3")
    images.tag_existing(registry.url, repo, "candidate", digest)
    rule = protect("protect/**", r"^v?\d+\.\d+\.\d+$")
    before = state(registry, repo)

    response = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/?force=true")

    assert response.status_code == 409
    body = response.json()
    assert body["digest"] == digest
    assert body["protected"] == [{"tag": "v1.2.3", "protected_by": rule.describe()}]
    assert "Nothing was deleted" in body["detail"]
    assert state(registry, repo) == before
    [entry] = refusals(repo)
    assert entry.action == "delete-manifest" and entry.digest == digest


@pytest.mark.django_db
def test_a_manifest_whose_signature_tag_is_protected_is_refused(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    digest = images.push_oci_image(registry.url, repo, "1.0")
    signature = images.push_cosign_signature(registry.url, repo, digest)
    protect("**", r"\.sig$")
    before = state(registry, repo)
    assert len(before) == 2, signature

    response = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/")

    assert response.status_code == 409
    assert [item["tag"] for item in response.json()["protected"]] == [f"sha256-{digest.split(':')[1]}.sig"]
    assert state(registry, repo) == before


@pytest.mark.django_db
def test_the_bulk_preview_names_the_protected_tags_and_the_run_refuses_the_whole_selection(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    for tag in ("latest", "old-1", "old-2"):
        images.push_oci_image(registry.url, repo, tag)
    rule = protect("**", "^latest$")
    before = state(registry, repo)
    url = f"/api/v1/repositories/{repo}/bulk-delete/"

    preview = operator_client.post(
        url, {"tags": ["latest", "old-1", "old-2"], "dry_run": True}, content_type="application/json"
    )
    assert preview.status_code == 200
    results = {item["tag"]: item for item in preview.json()["results"]}
    assert results["latest"]["status"] == "refused"
    assert results["latest"]["protected_by"] == rule.describe()
    assert results["old-1"]["status"] == "removed" and results["old-1"]["protected_by"] is None

    run = operator_client.post(
        url, {"tags": ["latest", "old-1", "old-2"], "force": True}, content_type="application/json"
    )
    assert run.status_code == 409
    assert run.json()["protected"] == [{"tag": "latest", "protected_by": rule.describe()}]
    assert "Deselect it" in run.json()["detail"]
    assert state(registry, repo) == before
    assert sorted(entry.tag for entry in refusals(repo)) == ["latest", "old-1", "old-2"]

    rest = operator_client.post(url, {"tags": ["old-1", "old-2"]}, content_type="application/json")
    assert rest.status_code == 200
    assert state(registry, repo) == {"latest": before["latest"]}


@pytest.mark.django_db
def test_a_plan_for_many_tags_refuses_the_protected_ones_and_deletes_the_rest(
    versioned_registry: RegistryService, repo: str, settings: Any
) -> None:
    """The path retention takes: plan from one scan with the rules read once, then execute."""
    registry = versioned_registry
    for tag in ("release-1", "nightly-1", "nightly-2"):
        images.push_oci_image(registry.url, repo, tag)
    shared = images.manifest_digest(registry.url, repo, "nightly-2")
    assert shared is not None
    images.tag_existing(registry.url, repo, "release-2", shared)
    protect("**", "^release-")
    rules = list(ProtectedTag.objects.all())
    client = get_client()
    scan = deletion.scan_repository(client, repo)

    plan = deletion.plan_from_scan(
        scan,
        ["release-1", "nightly-1", "nightly-2"],
        force=True,
        deletes_tags=deletion.registry_deletes_tags(client, repo),
        rules=rules,
    )
    done = deletion.execute(plan)

    statuses = {o.tag: o.status for o in done.outcomes}
    assert statuses["release-1"] == "refused"
    assert statuses["nightly-1"] == "removed"
    # nightly-2 shares its manifest with the protected release-2: v3 untags it, 2.x keeps it.
    assert statuses["nightly-2"] == ("removed" if registry.major == 3 else "refused")
    after = state(registry, repo)
    assert "release-1" in after and "release-2" in after and "nightly-1" not in after
    assert ("nightly-2" in after) is (registry.major == 2)


@pytest.mark.django_db
def test_the_delete_dialog_says_which_tags_are_protected_and_offers_the_rest(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    for tag in ("latest", "old"):
        images.push_oci_image(registry.url, repo, tag)
    rule = protect("**", "^latest$")
    before = state(registry, repo)
    url = f"/catalog/r/{repo}/-/delete/"

    preview = operator_client.post(url, {"tags": ["latest", "old"]}, headers=HTMX)

    assert preview.status_code == 200
    page = text(preview)
    assert "Tag latest is protected" in page
    assert rule.describe().replace('"', "&quot;") in preview.content.decode()
    assert "can still delete it" in page
    assert 'data-testid="delete-confirm"' not in preview.content.decode()
    assert 'data-testid="delete-without-protected"' in preview.content.decode()
    # A hand-made confirmation is refused all the same.
    fingerprint = deletion.plan_delete(repo, ["latest", "old"]).fingerprint
    forced = operator_client.post(url, {"tags": ["latest", "old"], "confirm": fingerprint}, headers=HTMX)
    assert forced.status_code == 409
    assert state(registry, repo) == before


@pytest.mark.django_db
def test_the_manifest_dialog_refuses_a_manifest_with_a_protected_tag(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    digest = images.push_oci_image(registry.url, repo, "latest")
    protect("**", "^latest$")
    url = f"/catalog/r/{repo}/-/delete/m/{digest}/"

    preview = operator_client.post(url, {}, headers=HTMX)

    assert preview.status_code == 200
    assert "would remove tag latest" in text(preview)
    assert 'data-testid="delete-confirm"' not in preview.content.decode()
    assert images.manifest_digest(registry.url, repo, "latest") == digest


@pytest.mark.django_db
def test_tag_rows_say_whether_a_rule_protects_them(viewer_client: Client, registry: RegistryService, repo: str) -> None:
    for tag in ("latest", "dev"):
        images.push_oci_image(registry.url, repo, tag)
    rule = protect("protect/*", "^latest$")

    answer = viewer_client.get(f"/api/v1/repositories/{repo}/tags/")
    rows = {row["name"]: row for row in answer.json()["results"]}
    assert rows["latest"]["protected"] is True and rows["latest"]["protected_by"] == rule.describe()
    assert rows["dev"]["protected"] is False and rows["dev"]["protected_by"] is None

    page = viewer_client.get(f"/catalog/r/{repo}/")
    html = page.content.decode()
    assert html.count('data-testid="protected"') == 1
    latest_row = html[html.index('<tr data-tag="latest">') :].split("</tr>")[0]
    assert 'data-testid="protected"' in latest_row and f"rule {rule.pk}" in latest_row
    assert 'data-testid="image-protected"' in viewer_client.get(f"/catalog/r/{repo}/-/t/latest/").content.decode()
    assert 'data-testid="image-protected"' not in viewer_client.get(f"/catalog/r/{repo}/-/t/dev/").content.decode()

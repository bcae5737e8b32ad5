"""Deleting tags and manifests through the API, against the real v3.1.1 and 2.8.2 registries.

v3 deletes a tag alone (202, distribution PR #3427); 2.8 answers DIGEST_INVALID and the
dashboard deletes by digest only when no other tag shares the manifest. Tests whose outcome
differs by version take ``versioned_registry`` and run on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client

from catalog.tests.registry3 import DeleteSpy
from core.models import AuditEntry
from registry_client.client import RegistryClient
from testenv import images
from testenv.services import RegistryService, start_registry


@pytest.fixture
def deletes_sent(monkeypatch: pytest.MonkeyPatch) -> DeleteSpy:
    return DeleteSpy.install(monkeypatch)


@pytest.fixture
def repo(services: Any) -> str:
    return f"deltest/{uuid.uuid4().hex[:10]}"


def exists(registry: RegistryService, repo: str, reference: str) -> bool:
    return images.manifest_digest(registry.url, repo, reference) is not None


def shared_manifest(registry: RegistryService, repo: str, *tags: str) -> str:
    digest = images.push_oci_image(registry.url, repo, tags[0])
    for tag in tags[1:]:
        images.tag_existing(registry.url, repo, tag, digest)
    return digest


@pytest.mark.django_db
def test_it_refuses_a_tag_that_shares_its_manifest_then_deletes_all_when_forced(
    operator_client: Client, versioned_registry: RegistryService, repo: str, deletes_sent: DeleteSpy
) -> None:
    registry = versioned_registry
    digest = shared_manifest(registry, repo, "1.0", "stable")

    if registry.major == 3:
        # registry:3 removes the tag alone: nothing to refuse, the other tag and the manifest stay.
        response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/")
        assert response.status_code == 200
        assert response.json() == {"removed_tags": ["1.0"], "deleted_manifest": None}
        assert deletes_sent.references == ["1.0"]  # never by digest
        assert not exists(registry, repo, "1.0")
        assert images.manifest_digest(registry.url, repo, "stable") == digest
        assert exists(registry, repo, digest)
        return

    refused = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/")
    assert refused.status_code == 409
    body = refused.json()
    assert body["digest"] == digest and body["shared_with"] == ["stable"]
    assert "stable" in body["detail"] and "force" in body["detail"]
    assert exists(registry, repo, "1.0") and exists(registry, repo, "stable")

    forced = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/?force=true")
    assert forced.status_code == 200
    assert forced.json() == {"removed_tags": ["1.0", "stable"], "deleted_manifest": digest}
    assert not exists(registry, repo, "1.0") and not exists(registry, repo, "stable")
    assert not exists(registry, repo, digest)


@pytest.mark.django_db
def test_it_deletes_a_tag_alone_with_its_manifest(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    digest = images.push_oci_image(registry.url, repo, "1.0")
    other = images.push_oci_image(registry.url, repo, "2.0")

    response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/")
    assert response.status_code == 200
    assert not exists(registry, repo, "1.0")
    if registry.major == 3:
        # Only the tag goes; the untagged manifest stays until a GC with --delete-untagged.
        assert response.json() == {"removed_tags": ["1.0"], "deleted_manifest": None}
        assert exists(registry, repo, digest)
    else:
        assert response.json() == {"removed_tags": ["1.0"], "deleted_manifest": digest}
        assert not exists(registry, repo, digest)
    assert images.manifest_digest(registry.url, repo, "2.0") == other


@pytest.mark.django_db
def test_a_manifest_delete_lists_every_tag_it_removed(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    digest = shared_manifest(registry, repo, "1.0", "stable", "latest")
    kept = images.push_oci_image(registry.url, repo, "2.0")

    response = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/")
    assert response.status_code == 200
    assert response.json() == {"removed_tags": ["1.0", "latest", "stable"], "deleted_manifest": digest}
    assert not exists(registry, repo, digest)
    assert images.manifest_digest(registry.url, repo, "2.0") == kept


@pytest.mark.django_db
def test_it_refuses_a_platform_of_an_index_unless_forced(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    index, children = images.push_oci_index(registry.url, repo, "multi")
    amd64 = children["linux/amd64"]

    refused = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{amd64}/")
    assert refused.status_code == 409
    assert refused.json()["referenced_by"] == [{"digest": index, "tags": ["multi"]}]
    assert "multi-arch index" in refused.json()["detail"]
    assert exists(registry, repo, amd64)

    images.tag_existing(registry.url, repo, "multi-amd64", amd64)
    tag_delete = operator_client.delete(f"/api/v1/repositories/{repo}/tags/multi-amd64/")
    if registry.major == 3:
        # registry:3 removes that tag alone: the platform manifest stays, the index stays whole.
        assert tag_delete.status_code == 200
        assert tag_delete.json() == {"removed_tags": ["multi-amd64"], "deleted_manifest": None}
        assert not exists(registry, repo, "multi-amd64") and exists(registry, repo, amd64)
        images.tag_existing(registry.url, repo, "multi-amd64", amd64)
    else:
        # A tag on the platform manifest alone is refused on 2.x (deleting it deletes the platform).
        assert tag_delete.status_code == 409 and tag_delete.json()["shared_with"] == []
        assert exists(registry, repo, "multi-amd64")

    forced = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{amd64}/?force=true")
    assert forced.status_code == 200
    assert forced.json() == {"removed_tags": ["multi-amd64"], "deleted_manifest": amd64}
    assert not exists(registry, repo, amd64)
    assert images.manifest_digest(registry.url, repo, "multi") == index


@pytest.mark.django_db
def test_an_index_delete_leaves_its_platforms(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    index, children = images.push_oci_index(registry.url, repo, "multi")
    response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/multi/")
    assert response.status_code == 200
    assert response.json()["deleted_manifest"] == (None if registry.major == 3 else index)
    assert not exists(registry, repo, "multi")
    assert exists(registry, repo, index) == (registry.major == 3)
    assert all(exists(registry, repo, child) for child in children.values())


@pytest.mark.django_db
def test_a_missing_tag_or_manifest_is_a_404(operator_client: Client, repo: str, registry: RegistryService) -> None:
    images.push_oci_image(registry.url, repo, "1.0")
    response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/nope/")
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    missing = "sha256:" + "0" * 64
    response = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{missing}/")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(repository=repo, outcome="failed").count() == 2


@pytest.mark.django_db
def test_a_viewer_is_refused_and_nothing_changes(viewer_client: Client, registry: RegistryService, repo: str) -> None:
    digest = images.push_oci_image(registry.url, repo, "1.0")
    for response in (
        viewer_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/"),
        viewer_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/"),
        viewer_client.post(
            f"/api/v1/repositories/{repo}/bulk-delete/", {"tags": ["1.0"]}, content_type="application/json"
        ),
    ):
        assert response.status_code == 403
        assert "operator" in response.json()["detail"]
    assert exists(registry, repo, "1.0")


@pytest.mark.django_db
def test_an_admin_may_delete(admin_client_role: Client, registry: RegistryService, repo: str) -> None:
    images.push_oci_image(registry.url, repo, "1.0")
    assert admin_client_role.delete(f"/api/v1/repositories/{repo}/tags/1.0/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/repositories/UPPER/app/tags/1.0/",
        "/api/v1/repositories/team/app/tags/.hidden/",
        "/api/v1/repositories/team/app/tags/1.0/?force=maybe",
        "/api/v1/repositories/team//app/tags/1.0/",
        "/api/v1/repositories/team/app/manifests/sha256:xyz/",
        "/api/v1/repositories/team/app/manifests/latest/",
    ],
)
def test_bad_names_are_a_400_before_any_registry_request(
    operator_client: Client, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    def no_request(*args: object, **kwargs: object) -> None:
        raise AssertionError("no registry request may be sent for a bad reference")

    monkeypatch.setattr(RegistryClient, "request", no_request)
    response = operator_client.delete(url)
    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.django_db
def test_an_unreachable_registry_is_a_clear_error_in_the_log(operator_client: Client, settings: Any, repo: str) -> None:
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    response = operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/")
    assert response.status_code == 503
    assert "Cannot connect to the registry" in response.json()["detail"]
    entry = AuditEntry.objects.get(repository=repo)
    assert entry.outcome == "failed" and "Cannot connect" in entry.registry_response


# --- A registry with deleting disabled ---------------------------------------------------


@pytest.fixture(params=["v3", "v2"])
def no_delete_registry(request: pytest.FixtureRequest, services: Any, settings: Any) -> Iterator[RegistryService]:
    """A registry with deleting disabled, on 3.1.1 (which refuses tag deletes too) and 2.8."""
    major = int(request.param[1:])
    if major not in services.engine.registry_images:
        pytest.skip(services.v3_missing or f"no {request.param} registry image")
    reg = start_registry(
        services.engine,
        f"registry-nodelete-{uuid.uuid4().hex[:6]}",
        env={"REGISTRY_STORAGE_DELETE_ENABLED": "false"},
        image=services.engine.registry_images[major],
    )
    settings.REGISTRY_URL = reg.url
    try:
        yield reg
    finally:
        reg.remove()


@pytest.mark.django_db
def test_a_registry_without_deletes_gets_the_advice_and_nothing_changes(
    operator_client: Client, no_delete_registry: RegistryService, repo: str
) -> None:
    digest = shared_manifest(no_delete_registry, repo, "1.0", "stable")
    answers = [
        operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/"),
        operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/?force=true"),
        operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/"),
        operator_client.post(
            f"/api/v1/repositories/{repo}/bulk-delete/",
            {"tags": ["1.0", "stable"], "dry_run": True},
            content_type="application/json",
        ),
    ]
    for response in answers:
        assert response.status_code == 409
        detail = response.json()["detail"]
        assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in detail and "recreate" in detail.lower()
    assert exists(no_delete_registry, repo, "1.0") and exists(no_delete_registry, repo, "stable")
    entries = AuditEntry.objects.filter(repository=repo)
    assert [e.outcome for e in entries] == ["refused", "refused", "refused"]  # the dry run writes nothing
    assert all("UNSUPPORTED" in e.registry_response for e in entries)


@pytest.mark.django_db
def test_the_catalog_forgets_a_deleted_tag_at_once(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    images.push_oci_image(registry.url, repo, "1.0")
    images.push_oci_image(registry.url, repo, "2.0")
    listed = operator_client.get(f"/api/v1/repositories/{repo}/tags/").json()  # now cached
    assert sorted(tag["name"] for tag in listed["results"]) == ["1.0", "2.0"]
    assert operator_client.get(f"/api/v1/repositories/{repo}/tags/1.0/").status_code == 200
    assert operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/").status_code == 200
    listed = operator_client.get(f"/api/v1/repositories/{repo}/tags/").json()
    assert [tag["name"] for tag in listed["results"]] == ["2.0"]
    assert operator_client.get(f"/api/v1/repositories/{repo}/tags/1.0/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("major", [3, 2])
def test_a_read_only_registry_is_named_as_such_not_as_deletes_disabled(
    operator_client: Client, services: Any, settings: Any, repo: str, tmp_path: Any, major: int
) -> None:
    """During a read-only GC the registry answers every write with a plain-text 405 (both versions)."""
    if major not in services.engine.registry_images:
        pytest.skip(services.v3_missing or "no such registry image")
    image = services.engine.registry_images[major]
    writable = start_registry(services.engine, name=f"rw-{uuid.uuid4().hex[:6]}", data_dir=tmp_path, image=image)
    digest = shared_manifest(writable, repo, "1.0", "stable")
    writable.remove()
    read_only = start_registry(
        services.engine,
        name=f"ro-{uuid.uuid4().hex[:6]}",
        data_dir=tmp_path,
        env={"REGISTRY_STORAGE_MAINTENANCE_READONLY": '{"enabled":true}'},
        image=image,
    )
    settings.REGISTRY_URL = read_only.url
    try:
        for response in (
            operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/"),
            operator_client.delete(f"/api/v1/repositories/{repo}/tags/1.0/?force=true"),
        ):
            assert response.status_code == 409
            detail = response.json()["detail"]
            assert "read-only" in detail and "REGISTRY_STORAGE_DELETE_ENABLED" not in detail
        assert exists(read_only, repo, "1.0") and exists(read_only, repo, "stable")
        # Reads keep working; a push is refused.
        assert sorted(requests.get(f"{read_only.url}/v2/{repo}/tags/list", timeout=5).json()["tags"]) == [
            "1.0",
            "stable",
        ]
        with pytest.raises(RuntimeError, match="405"):
            images.push_oci_image(read_only.url, repo, "new")
    finally:
        read_only.remove()


@pytest.mark.django_db
def test_a_dry_run_reads_the_repository_into_the_inventory_first_when_it_cannot_vouch_and_says_so(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    """Issue 22: a delete preview decides on current data. With no sync finished (or an events gap
    no sync has covered) the inventory cannot vouch for the repository: the preview reads it from
    the registry first (retention's refresh) and says so; once it can vouch, it does not."""
    from django.urls import reverse
    from django.utils import timezone

    from inventory import gaps
    from inventory.models import SyncState, Tag

    images.push_oci_image(registry.url, repo, "1.0")
    images.push_oci_image(registry.url, repo, "2.0")
    assert not Tag.objects.filter(repository__name=repo).exists()  # no sync has finished

    def dry_run() -> dict[str, Any]:
        answer = operator_client.post(
            f"/api/v1/repositories/{repo}/bulk-delete/",
            {"tags": ["1.0"], "dry_run": True},
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.content
        found: dict[str, Any] = answer.json()
        return found

    first = dry_run()
    assert first["removed_tags"] == ["1.0"]
    assert "read from the registry first" in first["refreshed"] and "first sync" in first["refreshed"]
    assert set(Tag.objects.filter(repository__name=repo).values_list("name", flat=True)) == {"1.0", "2.0"}
    dialog = operator_client.post(
        reverse("catalog:delete-tags", args=[repo]), {"tags": ["1.0"]}, HTTP_HX_REQUEST="true"
    )
    assert b'data-testid="delete-refreshed"' in dialog.content
    digest = Tag.objects.get(repository__name=repo, name="2.0").digest
    by_digest = operator_client.post(reverse("catalog:delete-manifest", args=[repo, digest]), HTTP_HX_REQUEST="true")
    assert by_digest.status_code == 200 and b'data-testid="delete-refreshed"' in by_digest.content

    SyncState.objects.update_or_create(pk=1, defaults={"last_finished": timezone.now()})  # it can vouch now
    vouched = dry_run()
    assert "refreshed" not in vouched
    by_digest = operator_client.post(reverse("catalog:delete-manifest", args=[repo, digest]), HTTP_HX_REQUEST="true")
    assert b'data-testid="delete-refreshed"' not in by_digest.content
    assert vouched["removed_tags"] == first["removed_tags"]
    gaps.record(timezone.now(), timezone.now(), "The registry restarted.")
    assert "events gap" in dry_run()["refreshed"]
    assert exists(registry, repo, "1.0") and exists(registry, repo, "2.0")  # a dry run deletes nothing

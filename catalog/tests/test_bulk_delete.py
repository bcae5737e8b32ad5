"""POST /api/v1/repositories/{name}/bulk-delete/: the preview is what the real run does.

Every test here runs on v3.1.1 (tags are deleted alone) and on 2.8.2 (by digest, refused
where that would remove more than the selection).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from catalog import deletion
from catalog.tests.registry3 import DeleteSpy
from core.models import AuditEntry
from registry_client.client import get_client
from testenv import images
from testenv.services import RegistryService


@pytest.fixture
def repo(services: Any) -> str:
    return f"bulktest/{uuid.uuid4().hex[:10]}"


def bulk(client: Client, repo: str, **body: Any) -> Any:
    return client.post(f"/api/v1/repositories/{repo}/bulk-delete/", body, content_type="application/json")


def exists(registry: RegistryService, repo: str, reference: str) -> bool:
    return images.manifest_digest(registry.url, repo, reference) is not None


@pytest.fixture
def registry(versioned_registry: RegistryService) -> RegistryService:
    """This module's registry: v3.1.1, then 2.8.2 (the dashboard's settings point at it)."""
    return versioned_registry


@pytest.fixture
def layout(registry: RegistryService, repo: str) -> dict[str, Any]:
    """pair: 1.0 + stable on one manifest; shared: 2.0 + latest; alone: 3.0; multi: an index."""
    url = registry.url
    pair = images.push_oci_image(url, repo, "1.0")
    images.tag_existing(url, repo, "stable", pair)
    shared = images.push_oci_image(url, repo, "2.0")
    images.tag_existing(url, repo, "latest", shared)
    alone = images.push_oci_image(url, repo, "3.0")
    index, children = images.push_oci_index(url, repo, "multi")
    images.tag_existing(url, repo, "multi-amd64", children["linux/amd64"])
    return {"pair": pair, "shared": shared, "alone": alone, "index": index, "amd64": children["linux/amd64"]}


@pytest.mark.django_db
def test_the_preview_equals_the_real_outcome(
    operator_client: Client, registry: RegistryService, repo: str, layout: dict[str, Any]
) -> None:
    selection = ["1.0", "stable", "2.0", "3.0", "multi-amd64", "gone"]
    preview = bulk(operator_client, repo, tags=selection, dry_run=True)
    assert preview.status_code == 200
    planned = preview.json()
    assert planned["dry_run"] is True
    assert exists(registry, repo, "1.0") and exists(registry, repo, "3.0")  # a dry run changes nothing
    assert not AuditEntry.objects.filter(repository=repo).exists()

    real = bulk(operator_client, repo, tags=selection)
    assert real.status_code == 200
    done = real.json()
    assert done["dry_run"] is False
    assert done["results"] == planned["results"]
    by_tag = {r["tag"]: r for r in done["results"]}
    assert by_tag["gone"]["status"] == "not_found"

    if registry.major == 3:
        # Each selected tag goes alone; no manifest is deleted, nothing is refused.
        assert done["removed_tags"] == planned["removed_tags"] == ["1.0", "2.0", "3.0", "multi-amd64", "stable"]
        assert done["deleted_manifests"] == planned["deleted_manifests"] == []
        assert all(by_tag[tag]["status"] == "removed" for tag in selection if tag != "gone")
        for gone in ("1.0", "stable", "2.0", "3.0", "multi-amd64"):
            assert not exists(registry, repo, gone)
        for kept in ("latest", "multi", layout["pair"], layout["alone"], layout["amd64"]):
            assert exists(registry, repo, kept)
        return

    assert done["removed_tags"] == planned["removed_tags"] == ["1.0", "3.0", "stable"]
    assert done["deleted_manifests"] == planned["deleted_manifests"] == [layout["pair"], layout["alone"]]
    # Two selected tags on one manifest: nothing beyond the selection goes, so no refusal.
    assert by_tag["1.0"]["status"] == by_tag["stable"]["status"] == "removed"
    assert by_tag["1.0"]["removed_tags"] == ["1.0", "stable"]
    assert by_tag["2.0"]["status"] == "refused" and by_tag["2.0"]["shared_with"] == ["latest"]
    assert by_tag["multi-amd64"]["status"] == "refused"
    assert by_tag["multi-amd64"]["referenced_by"] == [{"digest": layout["index"], "tags": ["multi"]}]

    assert not exists(registry, repo, layout["pair"]) and not exists(registry, repo, "3.0")
    for kept in ("2.0", "latest", "multi", "multi-amd64"):
        assert exists(registry, repo, kept)


@pytest.mark.django_db
def test_forced_bulk_delete_removes_shared_tags_and_says_so(
    operator_client: Client, registry: RegistryService, repo: str, layout: dict[str, Any]
) -> None:
    preview = bulk(operator_client, repo, tags=["2.0", "multi-amd64"], dry_run=True, force=True).json()
    done = bulk(operator_client, repo, tags=["2.0", "multi-amd64"], force=True).json()
    assert done["results"] == preview["results"]
    if registry.major == 3:
        # Forcing changes nothing on registry:3: the tags go alone, their manifests stay.
        assert done["removed_tags"] == ["2.0", "multi-amd64"] and done["deleted_manifests"] == []
        assert exists(registry, repo, "latest") and exists(registry, repo, layout["amd64"])
    else:
        assert done["removed_tags"] == ["2.0", "latest", "multi-amd64"]
        assert not exists(registry, repo, "latest") and not exists(registry, repo, layout["amd64"])
    assert not exists(registry, repo, "2.0") and not exists(registry, repo, "multi-amd64")
    assert exists(registry, repo, "multi")


@pytest.mark.django_db
def test_an_index_selected_with_its_platform_goes_first_and_both_go(
    operator_client: Client, registry: RegistryService, repo: str, layout: dict[str, Any]
) -> None:
    done = bulk(operator_client, repo, tags=["multi-amd64", "multi"]).json()
    assert [r["status"] for r in done["results"]] == ["removed", "removed"]
    if registry.major == 3:
        assert done["deleted_manifests"] == []
        assert exists(registry, repo, layout["index"]) and exists(registry, repo, layout["amd64"])
    else:
        assert done["deleted_manifests"] == [layout["index"], layout["amd64"]]
    assert not exists(registry, repo, "multi") and not exists(registry, repo, "multi-amd64")


@pytest.mark.django_db
def test_every_selected_tag_gets_an_audit_entry(
    operator_client: Client, registry: RegistryService, repo: str, layout: dict[str, Any]
) -> None:
    bulk(operator_client, repo, tags=["1.0", "stable", "2.0"])
    entries = {e.tag: e for e in AuditEntry.objects.filter(repository=repo)}
    assert set(entries) == {"1.0", "stable", "2.0"}
    assert entries["1.0"].outcome == "succeeded" and entries["1.0"].digest == layout["pair"]
    if registry.major == 3:
        for tag, entry in entries.items():
            # The tag alone went, its manifest stays (the exact sentence is the audit log's to choose).
            assert entry.outcome == "succeeded" and f"deleted tag {tag}" in entry.detail
            assert "only" in entry.detail and "its manifest stays" in entry.detail
        assert entries["2.0"].digest == layout["shared"]
    else:
        assert "with tags 1.0, stable" in entries["1.0"].detail
        assert entries["2.0"].outcome == "refused" and "latest" in entries["2.0"].detail
    assert all(e.actor == "otto" and e.action == "delete-tag" for e in entries.values())


@pytest.mark.django_db
def test_a_failed_step_is_reported_with_the_registry_answer(
    operator_client: Client, registry: RegistryService, repo: str, layout: dict[str, Any], monkeypatch: Any
) -> None:
    plan = deletion.plan_delete(repo, ["3.0", "1.0", "stable"])
    # The manifest of 3.0 is deleted behind our back between plan and execution.
    assert get_client().delete_manifest(repo, layout["alone"]).status == 202
    done = deletion.execute(plan)
    by_tag = {o.tag: o for o in done.outcomes}
    assert by_tag["3.0"].status == "failed" and "does not exist" in by_tag["3.0"].detail
    assert by_tag["1.0"].status == by_tag["stable"].status == "removed"
    failed = AuditEntry.objects.get(repository=repo, tag="3.0")
    assert failed.outcome == "failed" and "404" in failed.registry_response


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{}, {"tags": []}, {"tags": "1.0"}, {"tags": ["ok", "-bad"]}, {"tags": ["1.0"], "dry_run": "perhaps"}],
)
def test_a_bad_request_is_a_400(operator_client: Client, repo: str, body: dict[str, Any]) -> None:
    response = operator_client.post(f"/api/v1/repositories/{repo}/bulk-delete/", body, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_run_sends_only_what_the_version_allows(
    operator_client: Client, registry: RegistryService, repo: str, layout: dict[str, Any], monkeypatch: Any
) -> None:
    selection = ["2.0", "multi-amd64", "1.0"]
    preview = bulk(operator_client, repo, tags=selection, dry_run=True).json()
    assert preview["registry_deletes_tags"] is (registry.major == 3)
    sent = DeleteSpy.install(monkeypatch)
    done = bulk(operator_client, repo, tags=selection).json()
    assert done["results"] == preview["results"]
    assert sent.digests == []  # never by digest: on 2.8 each of these would remove more than chosen
    if registry.major == 3:
        assert [r["status"] for r in done["results"]] == ["removed"] * 3
        assert done["removed_tags"] == ["1.0", "2.0", "multi-amd64"] and done["deleted_manifests"] == []
        assert sorted(sent.tags) == ["1.0", "2.0", "multi-amd64"]
        assert not exists(registry, repo, "2.0") and not exists(registry, repo, "multi-amd64")
    else:
        assert [r["status"] for r in done["results"]] == ["refused"] * 3
        assert done["removed_tags"] == [] and done["deleted_manifests"] == []
        assert exists(registry, repo, "2.0") and exists(registry, repo, "multi-amd64")
    for kept in ("latest", "stable", "multi", layout["amd64"], layout["pair"], layout["shared"]):
        assert exists(registry, repo, kept)

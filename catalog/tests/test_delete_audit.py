"""Every delete, refusal and failure leaves an audit entry: who, from where, what, how it ended."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from catalog.deletion.audit import describe
from catalog.models import ProtectedTag
from core.models import AuditEntry
from testenv import images
from testenv.services import RegistryService

# Database-heavy: make test runs these on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.database


@pytest.fixture
def repo(services: Any) -> str:
    return f"audittest/{uuid.uuid4().hex[:10]}"


@pytest.mark.django_db
def test_a_delete_records_who_from_where_what_and_how(
    operator: User, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    token = Token.objects.create(user=operator)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}", REMOTE_ADDR="192.0.2.44")
    digest = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", digest)

    if registry.major == 3:
        # registry:3 deletes the tag alone: one succeeded entry, with the digest it pointed to.
        assert api.delete(f"/api/v1/repositories/{repo}/tags/1.0/").status_code == 200
        (entry,) = AuditEntry.objects.filter(repository=repo)
        assert (entry.user, entry.actor, entry.via, entry.ip) == (operator, "otto", "token", "192.0.2.44")
        assert (entry.action, entry.repository, entry.tag, entry.digest) == ("delete-tag", repo, "1.0", digest)
        assert entry.outcome == "succeeded" and entry.detail.startswith("Deleted tag 1.0")
        assert "only" in entry.detail and f"its manifest {digest} stays" in entry.detail
        return

    assert api.delete(f"/api/v1/repositories/{repo}/tags/1.0/").status_code == 409
    assert api.delete(f"/api/v1/repositories/{repo}/tags/1.0/?force=true").status_code == 200

    refused, succeeded = AuditEntry.objects.filter(repository=repo).order_by("id")
    for entry in (refused, succeeded):
        assert (entry.user, entry.actor, entry.via, entry.ip) == (operator, "otto", "token", "192.0.2.44")
        assert (entry.action, entry.repository, entry.tag, entry.digest) == ("delete-tag", repo, "1.0", digest)
    assert refused.outcome == "refused" and "stable" in refused.detail
    assert succeeded.outcome == "succeeded" and "stable" in succeeded.detail


@pytest.mark.django_db
def test_a_failure_keeps_the_registry_answer(operator_client: Client, registry: RegistryService, repo: str) -> None:
    images.push_oci_image(registry.url, repo, "1.0")
    missing = "sha256:" + "1" * 64
    assert operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{missing}/").status_code == 404
    entry = AuditEntry.objects.get(repository=repo)
    assert (entry.action, entry.outcome, entry.digest, entry.via) == ("delete-manifest", "failed", missing, "session")
    assert "does not exist" in entry.detail and "404" in entry.registry_response


@pytest.mark.django_db
def test_the_api_lists_delete_entries(operator_client: Client, registry: RegistryService, repo: str) -> None:
    digest = images.push_oci_image(registry.url, repo, "1.0")
    operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/")
    results = operator_client.get(f"/api/v1/audit/?repository={repo}").json()["results"]
    assert [(r["action"], r["outcome"], r["digest"]) for r in results] == [("delete-manifest", "succeeded", digest)]


@pytest.mark.django_db
def test_a_delete_records_what_it_removed_as_fields_and_its_sentence_is_made_of_them(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    digest = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", digest)
    assert operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{digest}/").status_code == 200
    entry = AuditEntry.objects.get(repository=repo)
    assert entry.fields == {
        "by": "digest",
        "removed_tags": ["1.0", "stable"],
        "deleted_manifests": [digest],
        "attached": [],
    }
    assert entry.detail == f"Deleted manifest {digest}; tags removed: 1.0, stable."
    assert entry.detail == describe("delete-manifest", "", digest, entry.fields)


@pytest.mark.django_db
def test_a_refused_delete_records_no_fields(operator_client: Client, registry: RegistryService, repo: str) -> None:
    digest = images.push_oci_image(registry.url, repo, "1.0")
    body = {"tags": ["1.0"], "dry_run": False}
    ProtectedTag.objects.create(repositories=repo, tags=r"^1\.0$")
    answer = operator_client.post(f"/api/v1/repositories/{repo}/bulk-delete/", body, content_type="application/json")
    assert answer.status_code == 409
    entry = AuditEntry.objects.get(repository=repo)
    assert (entry.outcome, entry.digest, entry.fields) == ("refused", digest, {})
    assert images.manifest_digest(registry.url, repo, "1.0") == digest

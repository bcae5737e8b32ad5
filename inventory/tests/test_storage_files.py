"""The Storage page and GET /api/v1/storage/ with the registry's storage files: to the byte, and say so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse

from core.worker import QueueUnavailable
from inventory import files, sync_files, tasks
from inventory.models import StorageFilesReport
from testenv import images

pytestmark = [pytest.mark.django_db]

ELIGIBLE = re.compile(r"blob eligible for deletion: sha256:([0-9a-f]{64})")


def _dry_run_bytes(registry: Any) -> tuple[int, int]:
    code, output = registry.garbage_collect("--dry-run")
    assert code == 0, output
    found = ELIGIBLE.findall(output)
    blobs = Path(registry.data_dir) / "docker/registry/v2/blobs/sha256"
    return len(found), sum((blobs / hexpart[:2] / hexpart / "data").stat().st_size for hexpart in found)


def test_the_storage_figures_come_from_the_files_to_the_byte(
    versioned_registry: Any, settings: Any, repo_prefix: str, viewer_client: Client
) -> None:
    url = versioned_registry.url
    images.push_oci_image(url, repo_prefix, "moved")
    images.push_oci_image(url, repo_prefix, "moved")  # the first image is now untagged
    started = requests.post(f"{url}/v2/{repo_prefix}/blobs/uploads/", timeout=10)
    location = requests.compat.urljoin(url + "/", started.headers["Location"])
    requests.patch(location, data=b"y" * 777, headers={"Content-Type": "application/octet-stream"}, timeout=10)
    settings.REGISTRY_DATA_DIR = str(versioned_registry.data_dir)

    result = sync_files.reconcile()
    # The space figures are not part of the sync: a task of their own, queued, shown as being measured.
    assert result["source"] == "files" and result["space"] == "queued" and "space_seconds" not in result
    waiting = viewer_client.get("/api/v1/storage/").json()["files"]
    assert waiting["measuring"] is True and waiting["measuring_since"] and waiting["measured_at"] is None
    assert (
        "No space figures measured yet; being measured again" in viewer_client.get(reverse("storage")).content.decode()
    )

    tasks.measure_storage()  # the task the sync queued, as a worker runs it
    body = viewer_client.get("/api/v1/storage/").json()

    files = body["files"]
    assert files["read_from"] == "files" and files["measured_at"]
    assert files["measuring"] is False and files["measuring_since"] is None and 0 <= files["age_seconds"] < 60
    assert (files["gc"]["blobs_eligible"], files["gc"]["bytes_eligible"]) == _dry_run_bytes(versioned_registry)
    assert files["untagged_manifests"] >= 1
    assert {"name": repo_prefix, "manifests": 1} in files["untagged_repositories"]
    assert files["gc_delete_untagged"]["manifests_eligible"] >= 1
    assert files["gc_delete_untagged"]["bytes_eligible"] > files["gc"]["bytes_eligible"]
    ours = [upload for upload in files["uploads"] if upload["repository"] == repo_prefix]
    assert [(u["uuid"], u["bytes"]) for u in ours] == [(started.headers["Docker-Upload-UUID"], 777)]
    assert files["bytes"] == sum(p.stat().st_size for p in Path(versioned_registry.data_dir).rglob("blobs/**/data"))
    # The existing fields are all still there.
    for field in ("stored", "referenced_bytes", "gc_dry_run", "growth", "not_pulled", "results", "namespaces"):
        assert field in body

    page = viewer_client.get(reverse("storage")).content.decode()
    assert "Space figures measured <time" in page and "being measured again" not in page
    assert "to the byte from the <strong>storage files</strong>" in page
    assert "as a GC dry run would find them" in page
    assert repo_prefix in page and "upload leftover" in page


def test_without_files_the_storage_page_says_why(
    registry: Any, settings: Any, repo_prefix: str, viewer_client: Client
) -> None:
    images.push_oci_image(registry.url, repo_prefix, "t")
    settings.REGISTRY_DATA_DIR = ""
    sync_files.reconcile()

    files = viewer_client.get("/api/v1/storage/").json()["files"]
    page = viewer_client.get(reverse("storage")).content.decode()

    assert files == {
        "read_from": "http",
        "reason": files["reason"],
        "measured_at": None,
        "age_seconds": None,
        "measuring": False,
        "measuring_since": None,
    }
    assert "REGISTRY_DATA_DIR is not set" in files["reason"]
    assert "over <strong>HTTP</strong>: REGISTRY_DATA_DIR is not set" in page
    assert "storage files</strong>, read" not in page


def test_the_space_figures_are_measured_in_the_sync_when_redis_does_not_take_their_task(
    registry: Any, settings: Any, repo_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    images.push_oci_image(registry.url, repo_prefix, "t")
    settings.REGISTRY_DATA_DIR = str(registry.data_dir)

    def refused(*args: object, **kwargs: object) -> None:
        raise QueueUnavailable("Redis at redis://127.0.0.1:1 does not answer.")

    monkeypatch.setattr(sync_files, "send", refused)
    result = sync_files.reconcile()

    assert result["space"] == "measured" and result["space_seconds"] >= 0
    assert StorageFilesReport.objects.get(pk=1).figures["blobs"] >= 3
    assert files.measuring_since() is None


def test_an_unchanged_sync_queues_no_measurement_while_the_figures_are_fresh(
    registry: Any, settings: Any, repo_prefix: str
) -> None:
    images.push_oci_image(registry.url, repo_prefix, "t")
    settings.REGISTRY_DATA_DIR = str(registry.data_dir)
    assert sync_files.reconcile()["space"] == "queued"
    tasks.measure_storage()

    again = sync_files.reconcile()

    assert again["added_tags"] == 0 and "space" not in again and files.measuring_since() is None

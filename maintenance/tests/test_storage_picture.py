"""One storage picture (issue 25): on disk = referenced by tags + reclaimable by a default GC + kept
untagged + the registry's own directories and links + uploads in progress, the same figures on the
Storage page, the home page's summary, the Maintenance page and ``GET /api/v1/storage/``, true
right after a delete (the dialog's promise) and after a garbage collection, on v3.1.1 and 2.8.2."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client

from inventory import sync, sync_files
from inventory.models import StorageRelease
from inventory.tests.files_sync import reconcile_and_measure
from jobs.models import Job
from maintenance import gc, stats_collector
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import blob_path
from registry_files.layout import StorageFiles
from testenv import images
from testenv.services import RegistryService

pytestmark = pytest.mark.database  # raw SQL (the inventory's measurement): also on PostgreSQL

HTMX = {"HX-Request": "true"}
LAYER = 300_000  # random bytes: the figures are the layer's size
ELIGIBLE = re.compile(r"blob eligible for deletion: sha256:([0-9a-f]{64})")


def du_apparent(root: Path) -> int:
    """What ``du -sb`` says of the data directory: every file's and directory's apparent size."""
    total = os.lstat(root).st_size
    for base, dirs, files in os.walk(root):
        total += sum(os.lstat(os.path.join(base, name)).st_size for name in [*dirs, *files])
    return total


def dry_run_bytes(registry: RegistryService, *flags: str) -> int:
    code, output = registry.garbage_collect("--dry-run", *flags)
    assert code == 0, output
    return sum(blob_path(registry, f"sha256:{hexpart}").stat().st_size for hexpart in set(ELIGIBLE.findall(output)))


def picture(client: Client) -> dict[str, Any]:
    answer = client.get("/api/v1/storage/")
    assert answer.status_code == 200
    return dict(answer.json()["picture"])


def parts(found: dict[str, Any]) -> dict[str, int | None]:
    return {part["key"]: part["bytes"] for part in found["parts"]}


def shown(html: str, pattern: str) -> int:
    found = re.search(pattern, html)
    assert found, html[:2000]
    return int(found[1])


def push_image(registry: RegistryService, repo: str, tag: str) -> str:
    return images.push_oci_image(registry.url, repo, tag, layers=[os.urandom(LAYER)])


def fingerprint(response: Any) -> str:
    return re.search(r'name="confirm" value="([0-9a-f]+)"', response.content.decode())[1]  # type: ignore[index]


def run_gc(**params: Any) -> Job:
    job = Job.objects.create(
        kind=Job.Kind.GC, params={"dry_run": False, "delete_untagged": False, "mode": "online", **params}
    )
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    return job


def delete_in_the_dialog(client: Client, registry: RegistryService, repo: str, tag: str) -> int:
    """Delete ``tag`` through the dialog (pruning on registry:3, as ticked); the bytes it promised."""
    url = f"/catalog/r/{repo}/-/delete/"
    preview = client.post(url, {"tags": [tag]}, headers=HTMX)
    assert preview.status_code == 200
    promised = shown(preview.content.decode(), r'data-testid="delete-reclaim-bytes" data-bytes="(\d+)"')
    form = {"tags": [tag], "confirm": fingerprint(preview), **({"prune": "1"} if registry.major == 3 else {})}
    done = client.post(url, form, headers=HTMX)
    assert done.status_code == 200 and images.manifest_digest(registry.url, repo, tag) is None
    return promised


@BOTH_VERSIONS
@pytest.mark.django_db
def test_the_parts_add_up_to_the_bytes_on_disk_to_the_byte_and_every_page_shows_them(
    viewer_client: Client, private_registry: RegistryService, settings: Any
) -> None:
    url, repo = private_registry.url, f"picture/{uuid.uuid4().hex[:8]}"
    push_image(private_registry, repo, "kept")
    push_image(private_registry, repo, "moved")
    push_image(private_registry, repo, "moved")  # the first "moved" is now untagged
    gone = push_image(private_registry, repo, "gone")
    requests.delete(f"{url}/v2/{repo}/manifests/{gone}", timeout=10).raise_for_status()  # reclaimable
    started = requests.post(f"{url}/v2/{repo}/blobs/uploads/", timeout=10)
    location = requests.compat.urljoin(url + "/", started.headers["Location"])
    requests.patch(location, data=b"u" * 777, headers={"Content-Type": "application/octet-stream"}, timeout=10)
    settings.REGISTRY_DATA_DIR = str(private_registry.data_dir)
    assert reconcile_and_measure()["source"] == "files"
    stats_collector.collect()

    found = picture(viewer_client)

    by_key = parts(found)
    assert found["source"] == "files" and found["adds_up"] is True
    assert set(by_key) == {"referenced", "reclaimable", "untagged", "metadata", "uploads"}
    assert all(part["source"] == "files" and part["measured_at"] for part in found["parts"])
    assert found["on_disk"] == sum(by_key.values()) == du_apparent(private_registry.data_dir)
    # The container's du (whole 1 KB blocks, busybox has no -b) is there to compare, not part of the sum.
    assert found["container_df"]["bytes"] >= found["on_disk"] - 4096
    assert by_key["reclaimable"] == dry_run_bytes(private_registry) >= LAYER
    assert by_key["untagged"] == dry_run_bytes(private_registry, "--delete-untagged") - by_key["reclaimable"]
    assert by_key["untagged"] >= LAYER
    assert by_key["uploads"] == 777
    assert by_key["metadata"] and by_key["metadata"] > 0
    # The same figures on every page that shows one.
    page = viewer_client.get("/maintenance/storage/").content.decode()
    assert (
        shown(page, r'data-testid="stored-bytes">\s*<header>On disk</header>\s*<p class="figure" data-bytes="(\d+)"')
        == (found["on_disk"])
    )
    for key, size in by_key.items():
        assert f'data-part="{key}" data-bytes="{size}"' in page
    assert "the sum of the parts above" in page
    home = viewer_client.get("/maintenance/summary/").content.decode()
    assert shown(home, r'<strong class="figure" data-bytes="(\d+)">') == found["on_disk"]
    assert f'data-part="reclaimable" data-bytes="{by_key["reclaimable"]}"' in home
    assert "can free at most the rest" not in home
    maintenance = viewer_client.get("/maintenance/").content.decode()
    assert shown(maintenance, r'data-testid="gc-reclaimable" data-bytes="(\d+)"') == by_key["reclaimable"]


@BOTH_VERSIONS
@pytest.mark.django_db(transaction=True)
def test_a_delete_promise_is_the_reclaimable_figure_right_after_and_a_gc_frees_it(
    operator_client: Client, private_registry: RegistryService, settings: Any
) -> None:
    repo = f"picture/{uuid.uuid4().hex[:8]}"
    push_image(private_registry, repo, "kept")
    going = push_image(private_registry, repo, "1.0")
    settings.REGISTRY_DATA_DIR = str(private_registry.data_dir)
    reconcile_and_measure()
    before = parts(picture(operator_client))
    assert before["reclaimable"] == 0

    promised = delete_in_the_dialog(operator_client, private_registry, repo, "1.0")

    # Without any dry run: the picture moved the promised bytes from referenced to reclaimable.
    assert not Job.objects.filter(kind=Job.Kind.GC).exists()
    after = picture(operator_client)
    assert after["adds_up"] and parts(after)["reclaimable"] == promised > LAYER
    assert parts(after)["referenced"] == before["referenced"] - promised
    assert after["released_bytes"] == promised
    page = operator_client.get("/maintenance/storage/").content.decode()
    assert shown(
        page, r'data-testid="reclaimable">\s*<header>[^<]*</header>\s*<p class="figure" data-bytes="(\d+)"'
    ) == (promised)
    assert shown(
        operator_client.get("/maintenance/").content.decode(), r'data-testid="gc-reclaimable" data-bytes="(\d+)"'
    ) == (promised)
    # The files read again (the worker's task after a delete) say the same, plus the manifest's own blob.
    sync_files.measure_space(StorageFiles(private_registry.data_dir))
    measured = parts(picture(operator_client))
    assert measured["reclaimable"] == promised + blob_path(private_registry, going).stat().st_size

    job = run_gc()

    freed = picture(operator_client)
    assert parts(freed)["reclaimable"] == 0 and freed["last_gc"]["job"] == job.pk
    assert freed["last_gc"]["bytes_freed"] >= promised
    page = operator_client.get("/maintenance/storage/").content.decode()
    assert f'Garbage collection <a href="/maintenance/jobs/{job.pk}/">#{job.pk}</a> freed' in page
    assert "queued" not in page and "nothing to free" not in page
    sync_files.measure_space(StorageFiles(private_registry.data_dir))
    again = picture(operator_client)
    assert again["adds_up"] and parts(again)["reclaimable"] == 0
    assert again["on_disk"] == du_apparent(private_registry.data_dir)


@BOTH_VERSIONS
@pytest.mark.django_db(transaction=True)
def test_without_the_files_the_promise_is_still_the_figure_after_and_the_parts_add_up_to_the_containers_du(
    operator_client: Client, private_registry: RegistryService, settings: Any
) -> None:
    repo = f"picture/{uuid.uuid4().hex[:8]}"
    push_image(private_registry, repo, "kept")
    push_image(private_registry, repo, "1.0")
    settings.REGISTRY_DATA_DIR = ""
    sync.reconcile()
    stats_collector.collect()

    promised = delete_in_the_dialog(operator_client, private_registry, repo, "1.0")

    found = picture(operator_client)
    by_key = parts(found)
    assert found["source"] == "container df" and found["adds_up"]
    assert by_key["reclaimable"] == promised and found["released_bytes"] == promised
    assert {part["key"]: part["source"] for part in found["parts"]}["referenced"] == "inventory"
    assert StorageRelease.objects.get().bytes == promised

    job = run_gc()  # measures the disk again afterwards

    freed = picture(operator_client)
    assert parts(freed)["reclaimable"] == 0 and freed["adds_up"]
    assert freed["last_gc"]["job"] == job.pk and freed["last_gc"]["bytes_freed"] >= promised
    assert freed["on_disk"] <= found["on_disk"] - promised


@pytest.mark.django_db
def test_the_storage_answer_is_written_by_its_serializer_and_keeps_every_field(viewer_client: Client) -> None:
    body = viewer_client.get("/api/v1/storage/").json()
    for field in (
        "count",
        "results",
        "stored",
        "referenced_bytes",
        "shared_bytes",
        "blobs",
        "repositories",
        "namespaces",
        "namespace_count",
        "top_repositories",
        "gc_dry_run",
        "files",
        "growth",
        "not_pulled",
        "picture",
    ):
        assert field in body
    assert body["picture"]["computed_at"] and isinstance(body["picture"]["parts"], list)


@pytest.mark.django_db
def test_when_the_inventory_cannot_vouch_the_figures_and_the_delete_preview_read_the_registry_first_and_say_so(
    operator_client: Client, private_registry: RegistryService, settings: Any
) -> None:
    """Issue 22: no sync has finished (a new install), so the inventory cannot vouch for itself."""
    settings.REGISTRY_DATA_DIR = ""
    repo = f"picture/{uuid.uuid4().hex[:8]}"
    push_image(private_registry, repo, "kept")
    push_image(private_registry, repo, "1.0")

    preview = operator_client.post(f"/catalog/r/{repo}/-/delete/", {"tags": ["1.0"]}, headers=HTMX)
    body = operator_client.get("/api/v1/storage/").json()

    assert f"{repo} read from the registry first" in preview.content.decode()
    assert "first sync has not finished" in preview.content.decode()
    assert "1 repository read from the registry first" in body["picture"]["refreshed"]
    assert "first sync has not finished" in body["picture"]["refreshed"]
    assert body["referenced_bytes"] > 2 * LAYER and body["repositories"] == 1
    page = operator_client.get("/maintenance/storage/").content.decode()
    assert 'data-testid="storage-refreshed"' in page
    # Once a sync finished, the inventory vouches for itself: nothing is read first.
    sync.reconcile()
    assert operator_client.get("/api/v1/storage/").json()["picture"]["refreshed"] == ""

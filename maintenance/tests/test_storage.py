"""Where the space goes: the figures of GET /api/v1/storage/ and the Storage page, checked against
the blobs really pushed to a private v3.1.1 and 2.8.2 registry (their files on disk), read from
the inventory with the registry gone."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import storage, sync
from inventory.models import Blob, Manifest, ManifestBlob, Repository, Tag
from jobs.models import Job
from maintenance import gc
from maintenance.models import StatsSample
from maintenance.tests.gc_helpers import blob_path, delete_image, gc_job, manifest_blobs
from registry_client.client import RegistryClient
from testenv import images
from testenv.services import start_registry

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # raw SQL: also on PostgreSQL


def blob_files(data: Path) -> dict[str, int]:
    """Every blob the registry stored, by digest, with its size on disk."""
    return {f"sha256:{path.parent.name}": path.stat().st_size for path in data.glob("**/blobs/sha256/*/*/data")}


def referenced(url: str, repo: str, *references: str) -> set[str]:
    """The config and layer digests of these manifests (an index: of its platforms)."""
    found: set[str] = set()
    for reference in references:
        body = json.loads(images.get_manifest(url, repo, reference)[0])
        if "manifests" in body:
            found |= referenced(url, repo, *[entry["digest"] for entry in body["manifests"]])
            continue
        found |= {body["config"]["digest"], *[layer["digest"] for layer in body["layers"]]}
    return found


@pytest.fixture(params=[3, 2], ids=["v3", "v2"])
def pushed(request: pytest.FixtureRequest, services: Any, settings: Any, tmp_path: Path) -> Any:
    """Two repositories of one namespace sharing a layer, a signed image, a top-level repository
    with two tags on one digest and a multi-arch index; the inventory synced; the registry gone."""
    major = request.param
    if major not in services.engine.registry_images:
        pytest.skip(services.v3_missing or "no such registry image")
    registry = start_registry(
        services.engine,
        name=f"storage-{uuid.uuid4().hex[:6]}",
        data_dir=tmp_path,
        image=services.engine.registry_images[major],
    )
    settings.REGISTRY_URL = registry.url
    url = registry.url
    try:
        base = images.make_layer(images.unique_files("base"))
        a = images.push_oci_image(url, "team/a", "1.0", layers=[base, images.unique_files("a")])
        signature = images.push_cosign_signature(url, "team/a", a)
        b = images.push_oci_image(url, "team/b", "1.0", layers=[base, images.unique_files("b")])
        solo = images.push_oci_image(url, "solo", "v1", layer_count=2)
        images.tag_existing(url, "solo", "v2", solo)
        images.push_oci_index(url, "multi", "latest")
        blobs = {
            "team/a": referenced(url, "team/a", a, signature.digest),
            "team/b": referenced(url, "team/b", b),
            "solo": referenced(url, "solo", solo),
            "multi": referenced(url, "multi", "latest"),
            "a-image": referenced(url, "team/a", a),
        }
        sync.reconcile()
    finally:
        registry.remove()
    sizes = blob_files(tmp_path)
    return {"blobs": blobs, "sizes": sizes, "base": images.sha256_digest(base.blob), "a": a, "solo": solo}


def total(pushed: Any, digests: set[str]) -> int:
    return sum(pushed["sizes"][digest] for digest in digests)


def test_the_figures_are_the_bytes_of_the_real_blobs_shared_layers_counted_as_shared(
    viewer_client: Client, pushed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        raise AssertionError(f"asked the registry: {method} {path}")

    monkeypatch.setattr(RegistryClient, "request", refuse)  # and the registry container is gone anyway

    answer = viewer_client.get("/api/v1/storage/", {"page_size": 2})

    assert answer.status_code == 200
    body = answer.json()
    blobs, base = pushed["blobs"], pushed["base"]
    assert base in blobs["team/a"] and base in blobs["team/b"]
    every = set().union(*[blobs[name] for name in ("team/a", "team/b", "solo", "multi")])
    assert body["referenced_bytes"] == total(pushed, every)
    assert body["shared_bytes"] == pushed["sizes"][base]
    assert body["repositories"] == body["count"] == 4
    assert len(body["results"]) == 2 and body["next"]
    rows = {row["name"]: row for row in viewer_client.get("/api/v1/storage/", {"ordering": "name"}).json()["results"]}
    for name in ("team/a", "team/b"):
        assert rows[name]["referenced_bytes"] == total(pushed, blobs[name])
        assert rows[name]["shared_bytes"] == pushed["sizes"][base]
        assert rows[name]["unique_bytes"] == total(pushed, blobs[name] - {base})
    # The signature's blobs count with team/a; the two tags of solo count once.
    assert blobs["team/a"] > blobs["a-image"]
    assert rows["solo"] == {
        "name": "solo",
        "referenced_bytes": total(pushed, blobs["solo"]),
        "unique_bytes": total(pushed, blobs["solo"]),
        "shared_bytes": 0,
    }
    assert rows["multi"]["unique_bytes"] == total(pushed, blobs["multi"]) > 0
    namespaces = {row["name"]: row for row in body["namespaces"]}
    team = blobs["team/a"] | blobs["team/b"]
    assert namespaces["team"] == {
        "name": "team",
        "repositories": 2,
        "referenced_bytes": total(pushed, team),
        "unique_bytes": total(pushed, team),  # the shared layer stays inside the namespace
        "shared_bytes": 0,
    }
    assert namespaces[""]["repositories"] == 2
    assert body["top_repositories"][0]["referenced_bytes"] == max(row["referenced_bytes"] for row in rows.values())


def test_images_nobody_pulled_for_90_days_are_listed_with_the_bytes_only_they_hold(
    viewer_client: Client, pushed: Any
) -> None:
    long_ago = timezone.now() - dt.timedelta(days=120)
    Tag.objects.update(first_seen=long_ago, pushed_at=long_ago)
    # team/b was pulled last week: not idle.
    Tag.objects.filter(repository__name="team/b").update(last_pulled=timezone.now() - dt.timedelta(days=7))
    # solo was pulled, but 100 days ago.
    Tag.objects.filter(repository__name="solo").update(last_pulled=timezone.now() - dt.timedelta(days=100))

    idle = viewer_client.get("/api/v1/storage/").json()["not_pulled"]

    shown = {(image["repository"], tuple(image["tags"])): image for image in idle["shown"]}
    assert set(shown) == {("team/a", ("1.0",)), ("solo", ("v1", "v2")), ("multi", ("latest",))}
    blobs = pushed["blobs"]
    # team/a's image holds its signature's blobs too, but not the layer team/b shares.
    assert shown[("team/a", ("1.0",))]["unique_bytes"] == total(pushed, blobs["team/a"] - {pushed["base"]})
    assert shown[("solo", ("v1", "v2"))]["unique_bytes"] == total(pushed, blobs["solo"])
    assert shown[("solo", ("v1", "v2"))]["last_pulled"] is not None
    assert idle["images"] == 3
    assert idle["unique_bytes"] == sum(image["unique_bytes"] for image in idle["shown"])


def test_it_shows_the_disk_the_last_dry_run_and_30_days_of_growth(viewer_client: Client, pushed: Any) -> None:
    now = timezone.now()
    for days, stored in ((40, 1_000), (29, 2_000), (10, 5_000), (1, 9_000)):
        StatsSample.objects.create(collected_at=now - dt.timedelta(days=days), storage_bytes=stored, blob_count=days)
    Job.objects.create(
        kind=Job.Kind.GC,
        status=Job.Status.SUCCEEDED,
        params={"dry_run": True, "delete_untagged": False, "mode": "read-only"},
        result={"bytes_eligible": 4321, "blobs_eligible": 3, "manifests_eligible": 1},
        finished_at=now - dt.timedelta(hours=1),
    )

    body = viewer_client.get("/api/v1/storage/").json()

    assert body["stored"]["bytes"] == 9_000 and body["stored"]["blobs"] == 1
    assert body["gc_dry_run"]["bytes_eligible"] == 4321 and body["gc_dry_run"]["blobs_eligible"] == 3
    assert [p["storage_bytes"] for p in body["growth"]["points"]] == [2_000, 5_000, 9_000]
    assert body["growth"]["bytes"] == 7_000

    page = viewer_client.get("/maintenance/storage/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Grew by {filesizeformat(7_000)} on disk" in html
    assert filesizeformat(4321) in html and 'id="growth-data"' in html
    assert 'data-repository="team/a"' in html and 'data-namespace="team"' in html

    # A real collection after the dry run makes its figures stale: none shown.
    Job.objects.create(kind=Job.Kind.GC, status=Job.Status.SUCCEEDED, params={"dry_run": False}, finished_at=now)
    assert viewer_client.get("/api/v1/storage/").json()["gc_dry_run"] is None


def test_the_repository_table_pages_sorts_and_filters_in_the_page(viewer_client: Client, pushed: Any) -> None:
    fragment = viewer_client.get(
        "/maintenance/storage/", {"sort": "name", "q": "team/"}, headers={"HX-Request": "true"}
    )

    html = fragment.content.decode()
    assert "<h1>" not in html
    assert html.index('data-repository="team/a"') < html.index('data-repository="team/b"')
    assert 'data-repository="solo"' not in html
    assert viewer_client.get("/api/v1/storage/", {"search": "%"}).json()["count"] == 0
    assert viewer_client.get("/api/v1/storage/", {"ordering": "size"}).status_code == 400


def _fill(count: int, prefix: str) -> None:
    """``count`` repositories of one namespace, each an image of a shared layer and a layer of its own."""
    shared = Blob.objects.create(digest=f"sha256:{prefix}shared", size=1000)
    own = Blob.objects.bulk_create([Blob(digest=f"sha256:{prefix}own{i}", size=10 + i) for i in range(count)])
    manifests = Manifest.objects.bulk_create(
        [
            Manifest(
                digest=f"sha256:{prefix}m{i}", media_type="application/vnd.oci.image.manifest.v1+json", kind="image"
            )
            for i in range(count)
        ]
    )
    ManifestBlob.objects.bulk_create(
        [ManifestBlob(manifest=m, blob=shared, position=0) for m in manifests]
        + [ManifestBlob(manifest=m, blob=b, position=1) for m, b in zip(manifests, own, strict=True)]
    )
    repos = Repository.objects.bulk_create([Repository(name=f"{prefix}/r{i:05d}") for i in range(count)])
    Tag.objects.bulk_create(
        [Tag(repository=r, name="1.0", digest=m.digest, manifest=m) for r, m in zip(repos, manifests, strict=True)]
    )


def test_the_number_of_queries_does_not_grow_with_the_repositories() -> None:
    def measure() -> tuple[Any, ...]:
        with storage.measured() as figures:
            return figures.totals(), figures.namespaces(), figures.repositories()[0:10], figures.not_pulled()

    _fill(30, "small")
    with CaptureQueriesContext(connection) as few:
        figures = measure()
    _fill(300, "large")
    with CaptureQueriesContext(connection) as many:
        measure()
    assert len(many) == len(few)
    totals, (namespaces, count), page, _ = figures
    assert totals.referenced_bytes == 1000 + sum(10 + i for i in range(30))
    assert totals.shared_bytes == 1000
    assert count == 1 and namespaces[0].unique_bytes == totals.referenced_bytes
    assert page[0].shared_bytes == 1000 and page[0].unique_bytes == 10 + 29


def test_the_page_and_the_api_need_a_login(client: Client) -> None:
    assert client.get("/api/v1/storage/").status_code in (401, 403)
    assert client.get("/maintenance/storage/").status_code == 302


def test_the_reclaimable_bytes_are_what_a_real_dry_run_found(viewer_client: Client, private_registry: Any) -> None:
    digest = images.push_oci_image(private_registry.url, "gone", "1.0", layer_count=2)
    images.push_oci_image(private_registry.url, "kept", "1.0")
    blobs = manifest_blobs(private_registry, "gone", digest)
    delete_image(private_registry, "gone", digest)
    job = gc_job(dry_run=True, mode="read-only")
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output

    found = viewer_client.get("/api/v1/storage/").json()["gc_dry_run"]

    assert found["job"] == job.pk
    # The config and both layers of the deleted image (their files on disk), at least.
    assert found["blobs_eligible"] >= 3
    assert found["bytes_eligible"] >= sum(blob_path(private_registry, blob).stat().st_size for blob in blobs[1:])
    assert found["bytes_eligible"] == job.result["bytes_eligible"]
    page = viewer_client.get("/maintenance/storage/").content.decode()
    assert f'href="/maintenance/jobs/{job.pk}/"' in page and filesizeformat(found["bytes_eligible"]) in page


def test_the_page_does_not_say_unpulled_images_were_pulled(viewer_client: Client, pushed: Any) -> None:
    """Issue 25: "every image was pulled in the last 90 days" beside a repository with 0 pulls.
    Here nothing was ever pulled and the inventory saw every image today: none is listed, and the
    page says why instead of claiming pulls."""
    assert Tag.objects.filter(last_pulled__isnull=False).count() == 0
    assert viewer_client.get("/api/v1/storage/").json()["not_pulled"]["images"] == 0
    page = viewer_client.get("/maintenance/storage/").content.decode()
    assert "was pulled in the last" not in page
    assert "not judged yet" in page and "with no pull seen since" in page

"""Verifying a registry after a restore, against a real registry whose files are removed on disk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from inventory.sync import reconcile
from jobs.models import Job
from maintenance import verify
from maintenance.tests.gc_helpers import blob_path, manifest_blobs, unique
from testenv.images import push_docker_image, push_oci_image, push_oci_index
from testenv.services import RegistryService, Services

pytestmark = pytest.mark.django_db


def _verify_job() -> Job:
    job = Job.objects.create(kind=Job.Kind.VERIFY, params={})
    verify.run(job.pk)
    job.refresh_from_db()
    return job


def test_an_intact_registry_reports_nothing(services: Services, private_registry: RegistryService) -> None:
    push_docker_image(services.engine, private_registry.url, unique("intact"), "v1", keep_local=False)
    index = unique("multi")
    push_oci_index(private_registry.url, index, "1.0")
    push_oci_image(private_registry.url, index, "extra")

    job = _verify_job()

    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert job.result["ok"] is True
    assert job.result["missing"] == [] and job.result["missing_count"] == 0
    assert job.result["tags_checked"] == 3
    assert job.result["manifests_checked"] >= 5  # two images, an index and its platforms
    assert job.result["blobs_checked"] >= 6
    assert job.result["gc_dry_run"]["ok"] is True and job.result["gc_dry_run"]["exit_code"] == 0
    assert "Checked 3/3 tags, 0 missing so far." in job.output
    assert job.result["source"].startswith(
        "the registry's catalog"
    )  # never synced: the registry walked and "Verified: nothing is missing" in job.output


def test_a_blob_removed_on_disk_is_reported_with_its_tag(
    services: Services, private_registry: RegistryService, operator_client: Client
) -> None:
    broken, intact = unique("broken"), unique("intact")
    push_docker_image(services.engine, private_registry.url, broken, "v1", keep_local=False)
    push_docker_image(services.engine, private_registry.url, intact, "v1", keep_local=False)
    # The tags come from the inventory once it was synced: an image pushed later is not checked.
    reconcile()
    push_oci_image(private_registry.url, unique("after-sync"), "v1")
    _manifest, _config, *layers = manifest_blobs(private_registry, broken, "v1")
    blob_path(private_registry, layers[-1]).unlink()
    # A restore recreates the container: it starts without the blob cache that still knows the blob.
    private_registry.restart()

    job = _verify_job()

    # Problems found, never "succeeded" (issue 25: verify #6 "succeeded" with "1 missing").
    assert job.status == Job.Status.WARNING, job.error + job.output
    assert "1 missing" in job.error
    assert job.result["ok"] is False and job.result["missing_count"] == 1
    assert job.result["source"] == "the inventory" and job.result["tags_checked"] == 2
    missing = job.result["missing"][0]
    assert (missing["repository"], missing["tag"], missing["digest"], missing["kind"]) == (
        broken,
        "v1",
        layers[-1],
        "layer",
    )
    assert intact not in str(job.result["missing"])
    assert f"MISSING layer {layers[-1]} of {broken}:v1" in job.output
    assert "Verification found problems: 1 missing" in job.output
    page = operator_client.get(job.get_absolute_url()).content.decode()
    assert 'data-testid="verify-missing"' in page and broken in page and layers[-1] in page
    assert 'data-status="warning"' in page and "flash-warning" in page and "problems found" in page
    api = operator_client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert api["status"] == "warning" and "1 missing" in api["error"]


def test_a_manifest_removed_on_disk_is_reported_with_its_tag(
    services: Services, private_registry: RegistryService
) -> None:
    broken = unique("nomanifest")
    push_docker_image(services.engine, private_registry.url, broken, "v1", keep_local=False)
    manifest_digest = manifest_blobs(private_registry, broken, "v1")[0]
    blob_path(private_registry, manifest_digest).unlink()
    private_registry.restart()

    job = _verify_job()

    assert job.status == Job.Status.WARNING, job.error + job.output
    assert job.result["ok"] is False
    kinds = {(m["repository"], m["tag"], m["kind"]) for m in job.result["missing"]}
    assert (broken, "v1", "manifest") in kinds
    assert "missing" in job.output.lower()


def test_the_api_queues_a_verification(operator_client: Client, viewer_client: Client) -> None:
    assert viewer_client.post("/api/v1/registry/verify/").status_code == 403
    answer = operator_client.post("/api/v1/registry/verify/")
    assert answer.status_code == 202, answer.content
    assert set(answer.json()) == {"id", "url", "page", "status"}
    assert Job.objects.get(pk=answer.json()["id"]).kind == Job.Kind.VERIFY


def test_a_verification_is_refused_during_a_gc(operator_client: Client) -> None:
    gc_job = Job.objects.create(kind=Job.Kind.GC, status=Job.Status.RUNNING, started_at=timezone.now())
    answer = operator_client.post("/api/v1/registry/verify/")
    assert answer.status_code == 409 and f"(job {gc_job.pk}" in answer.json()["detail"]
    page = operator_client.post("/registry/jobs/verify/", follow=True).content.decode()
    assert "garbage collection is in progress" in page


def test_the_registry_page_offers_verify_to_operators(operator_client: Client, viewer_client: Client) -> None:
    assert 'data-testid="verify-registry"' in operator_client.get("/registry/").content.decode()
    assert 'data-testid="verify-registry"' not in viewer_client.get("/registry/").content.decode()
    finished = Job.objects.create(
        kind=Job.Kind.VERIFY,
        status=Job.Status.SUCCEEDED,
        finished_at=timezone.now() - dt.timedelta(minutes=1),
        result={"ok": False, "missing_count": 2, "missing": [], "gc_dry_run": {"ok": True, "exit_code": 0}},
    )
    page = viewer_client.get("/registry/").content.decode()
    assert f"job {finished.pk}</a>" in page and "2 missing" in page


def test_a_worker_refuses_a_verification_when_a_gc_started_meanwhile(private_registry: RegistryService) -> None:
    gc_job = Job.objects.create(kind=Job.Kind.GC, status=Job.Status.RUNNING, started_at=timezone.now())

    job = _verify_job()

    assert job.status == Job.Status.FAILED
    assert f"garbage collection is in progress (job {gc_job.pk}" in job.error

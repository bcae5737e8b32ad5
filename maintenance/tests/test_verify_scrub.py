"""The restore check (issue 16) queues a scrub of the storage files when the worker can read them (issue 24)."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Job
from maintenance import verify
from maintenance.tests.gc_helpers import unique
from testenv.images import push_oci_image
from testenv.services import RegistryService

pytestmark = pytest.mark.django_db


def _verify_job() -> Job:
    job = Job.objects.create(kind=Job.Kind.VERIFY, params={})
    verify.run(job.pk)
    job.refresh_from_db()
    return job


def test_a_verification_queues_a_scrub_when_the_storage_files_are_readable(
    private_registry: RegistryService, settings: Any
) -> None:
    push_oci_image(private_registry.url, unique("restored"), "v1")
    settings.REGISTRY_DATA_DIR = str(private_registry.data_dir)

    job = _verify_job()

    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    scrub = Job.objects.get(kind=Job.Kind.SCRUB)
    assert job.result["scrub_job"] == scrub.pk
    assert scrub.params == {"reason": "restore check"} and scrub.status == Job.Status.QUEUED
    assert f"Scrub job {scrub.pk} queued" in job.output


def test_without_the_storage_files_a_verification_says_why_no_scrub_follows(
    private_registry: RegistryService, settings: Any
) -> None:
    push_oci_image(private_registry.url, unique("restored"), "v1")
    settings.REGISTRY_DATA_DIR = ""

    job = _verify_job()

    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert "scrub_job" not in job.result and not Job.objects.filter(kind=Job.Kind.SCRUB).exists()
    assert "No scrub of the storage files: REGISTRY_DATA_DIR is not set" in job.output

from __future__ import annotations

import pytest

from jobs.models import Job
from maintenance import gc, gc_requests
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import delete_image, gc_job, manifest_blobs, tree_hashes, unique
from testenv.images import push_docker_image

pytestmark = pytest.mark.django_db


@BOTH_VERSIONS
def test_it_reports_what_a_real_run_would_free_and_changes_no_file(services, private_registry):
    repo = unique("dry")
    digest = push_docker_image(services.engine, private_registry.url, repo, "v1", keep_local=False)
    blobs = manifest_blobs(private_registry, repo, digest)
    delete_image(private_registry, repo, digest)
    container_id = private_registry.container.id
    before = tree_hashes(private_registry.data_dir)

    job = gc_job(dry_run=True, mode="read-only")
    gc.run(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert tree_hashes(private_registry.data_dir) == before
    assert private_registry.container.id == container_id  # not recreated
    assert job.result["blobs_eligible"] >= 2
    assert job.result["blobs_marked"] >= 0
    assert job.result["mode"] == "dry-run"
    assert "--dry-run" in job.output
    assert set(blobs[1:]) <= set(gc_requests.eligible_blobs(job))
    assert job.result["bytes_before"] == job.result["bytes_after"] > 0

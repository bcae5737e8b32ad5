"""While a retention run deletes, nothing may take the registry from under it, and the other way round."""

from __future__ import annotations

import pytest

from jobs import services as job_services
from jobs.models import Job
from maintenance import container_actions, gc_requests

pytestmark = pytest.mark.django_db


@pytest.fixture
def running_retention(services: object) -> Job:
    return Job.objects.create(kind=Job.Kind.RETENTION, status=Job.Status.RUNNING, params={"policy": 1})


def test_a_garbage_collection_is_refused_while_a_retention_run_is_in_progress(running_retention: Job) -> None:
    with pytest.raises(job_services.JobBusy) as refused:
        gc_requests.request_gc(gc_requests.GcParams(dry_run=True))
    assert f"retention run is in progress (job {running_retention.pk}" in refused.value.message.lower()
    assert not Job.objects.filter(kind=Job.Kind.GC).exists()


def test_a_pause_or_restart_is_refused_while_a_retention_run_deletes(running_retention: Job) -> None:
    for answer in (container_actions.pause(None, 60, "web"), container_actions.restart(None, "web")):
        assert answer["ok"] is False and f"retention run (job {running_retention.pk})" in answer["error"]


def test_an_update_or_verification_is_refused_while_a_retention_run_is_queued(services: object) -> None:
    queued = Job.objects.create(kind=Job.Kind.RETENTION, params={"policy": 1})
    conflict = job_services.busy(Job.Kind.UPDATE)
    assert conflict is not None and conflict.job == queued

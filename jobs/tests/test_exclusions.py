"""Which kinds exclude which (jobs.services.EXCLUDES): asked for while another job is queued or
running, a kind is refused with JobBusy naming that job, or queued beside it."""

from __future__ import annotations

import pytest

from jobs import services as job_services
from jobs.models import Job

pytestmark = [pytest.mark.database, pytest.mark.django_db]

K = Job.Kind
REGISTRY_JOBS = (K.UPDATE, K.VERIFY, K.RETENTION, K.REGISTRY_LOGIN)
REFUSED = {
    K.GC: {K.GC, K.UPDATE, K.VERIFY, K.RETENTION, K.REGISTRY_LOGIN},
    K.UPDATE: {K.GC, K.UPDATE, K.VERIFY, K.RETENTION, K.REGISTRY_LOGIN},
    K.VERIFY: {K.GC, K.UPDATE, K.VERIFY, K.RETENTION, K.REGISTRY_LOGIN},
    K.RETENTION: {K.GC, K.UPDATE, K.VERIFY, K.RETENTION, K.REGISTRY_LOGIN},
    K.REGISTRY_LOGIN: {K.GC, K.UPDATE, K.VERIFY, K.RETENTION, K.REGISTRY_LOGIN},
    K.SYNC: {K.SYNC},
    K.STATS: set(),
}


@pytest.mark.parametrize("wanted", list(REFUSED))
@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.RUNNING])
def test_each_kind_is_refused_exactly_by_the_kinds_the_table_names(services: object, wanted: str, status: str) -> None:
    for other in K.values:
        Job.objects.all().delete()
        in_the_way = Job.objects.create(kind=other, status=status)
        if other in REFUSED[wanted]:
            with pytest.raises(job_services.JobBusy) as refused:
                job_services.queue("maintenance.tasks.collect_stats", wanted, {})
            assert refused.value.job == in_the_way, (wanted, other)
            assert f"job {in_the_way.pk}" in refused.value.message
            assert Job.objects.filter(kind=wanted).exclude(pk=in_the_way.pk).count() == 0
        else:
            job = job_services.queue("maintenance.tasks.collect_stats", wanted, {})
            assert job.kind == wanted and job.status == Job.Status.QUEUED, (wanted, other)


def test_a_worker_checking_again_does_not_count_its_own_job(services: object) -> None:
    own = Job.objects.create(kind=K.UPDATE, status=Job.Status.RUNNING)
    assert job_services.busy(K.UPDATE, ignore=own, lock_free=True) is None
    other = Job.objects.create(kind=K.VERIFY)
    conflict = job_services.busy(K.UPDATE, ignore=own, lock_free=True)
    assert conflict is not None and conflict.job == other


def test_a_snapshot_pause_stops_the_registry_jobs_but_not_a_gc(services: object) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from maintenance.models import RegistryPause

    RegistryPause.objects.create(deadline=timezone.now() + timedelta(minutes=5), container="registry")
    for kind in REGISTRY_JOBS:
        conflict = job_services.busy(kind, lock_free=True)
        assert conflict is not None and conflict.job is None and "paused for a snapshot" in conflict.message
    assert job_services.busy(K.GC, lock_free=True) is None

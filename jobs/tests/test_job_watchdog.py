"""Running jobs renew a heartbeat; the job watchdog fails the ones whose worker went silent."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from celery import shared_task
from django.utils import timezone

from core.models import AuditEntry
from jobs import runner as jobs
from jobs.models import Job

# Database-heavy (jobs, their heartbeats and claims): make test runs these on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.database


@shared_task(ignore_result=True)
def _starts_and_forgets(job_id: int) -> None:
    """A task with a bug: it claims its job and returns without ending it."""
    jobs.claim(job_id)


def running(kind: str, heartbeat_age: float | None, started_age: float = 3600) -> Job:
    now = timezone.now()
    job = Job.objects.create(kind=kind)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        started_at=now - dt.timedelta(seconds=started_age),
        heartbeat_at=None if heartbeat_age is None else now - dt.timedelta(seconds=heartbeat_age),
    )
    return job


@pytest.mark.django_db
def test_the_watchdog_fails_jobs_of_any_kind_whose_heartbeat_stopped(settings: Any) -> None:
    settings.JOB_HEARTBEAT_TIMEOUT = 30
    silent_gc = running(Job.Kind.GC, heartbeat_age=31)
    silent_stats = running(Job.Kind.STATS, heartbeat_age=300)
    never_beat = running(Job.Kind.STATS, heartbeat_age=None)
    alive = running(Job.Kind.STATS, heartbeat_age=5)
    just_started = running(Job.Kind.GC, heartbeat_age=None, started_age=2)

    failed = {job.pk for job in jobs.fail_orphaned()}

    assert failed == {silent_gc.pk, silent_stats.pk, never_beat.pk}
    for job in (silent_gc, silent_stats, never_beat):
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED and job.finished_at is not None
        assert "no heartbeat for more than 30 s (JOB_HEARTBEAT_TIMEOUT)" in job.error
        assert job.output.startswith("ERROR: The worker running this job stopped")
        assert AuditEntry.objects.filter(
            action=f"{job.kind}-finished", outcome="failed", detail__contains=f"job {job.pk}:"
        )
    for job in (alive, just_started):
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING
    assert jobs.fail_orphaned() == []  # a second pass has nothing left to do


@pytest.mark.django_db
def test_the_watchdog_cancels_queued_jobs_no_worker_took(settings: Any) -> None:
    settings.GC_QUEUE_TIMEOUT = 60
    old = Job.objects.create(kind=Job.Kind.STATS)
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(seconds=120))
    new = Job.objects.create(kind=Job.Kind.STATS)
    assert [job.pk for job in jobs.fail_orphaned()] == [old.pk]
    new.refresh_from_db()
    assert new.status == Job.Status.QUEUED


def test_a_running_job_renews_its_heartbeat(transactional_db: None, settings: Any) -> None:
    settings.JOB_HEARTBEAT_TIMEOUT = 5  # a beat every ~2 s
    job = Job.objects.create(kind=Job.Kind.STATS)
    jobs.claim(job.pk)
    first = Job.objects.get(pk=job.pk).heartbeat_at
    deadline = time.monotonic() + 10
    try:
        while Job.objects.get(pk=job.pk).heartbeat_at == first:
            assert time.monotonic() < deadline, "the heartbeat was not renewed"
            time.sleep(0.2)
        jobs.succeed(Job.objects.get(pk=job.pk), {})
        ended = Job.objects.get(pk=job.pk).heartbeat_at
        time.sleep(4)
        assert Job.objects.get(pk=job.pk).heartbeat_at == ended  # a finished job beats no more
    finally:
        jobs.heartbeat.discard(job.pk)


def test_a_task_that_returns_without_ending_its_job_fails_it_at_once(
    transactional_db: None, celery_worker: object
) -> None:
    job = Job.objects.create(kind=Job.Kind.STATS)
    _starts_and_forgets.delay(job.pk)
    deadline = time.monotonic() + 20
    while Job.objects.get(pk=job.pk).status != Job.Status.FAILED:
        assert time.monotonic() < deadline, Job.objects.get(pk=job.pk).status
        time.sleep(0.2)
    assert "ended without recording a result" in Job.objects.get(pk=job.pk).error

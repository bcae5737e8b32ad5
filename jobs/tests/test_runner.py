"""One lifecycle for every kind: claimed once, run, ended succeeded or failed with what it found."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from core.errors import ActionableError
from core.models import AuditEntry
from jobs import runner
from jobs.models import Job
from maintenance import stats_collector

pytestmark = [pytest.mark.database, pytest.mark.django_db]


class Refusal(ActionableError):
    pass


class Scripted(runner.JobRunner[dict[str, Any]]):
    """A kind whose run does what the test says: the lifecycle around it is the real one."""

    kind = Job.Kind.STATS
    expected = (Refusal,)
    outcome: BaseException | None = None
    runs = 0

    def run(self) -> dict[str, Any]:
        type(self).runs += 1
        self.log("working")
        self.result = {"found": 1}
        if self.outcome is not None:
            raise self.outcome
        return {"found": 2}

    def timed_out(self) -> str | None:
        return "It ran out of time."


def run_with(outcome: BaseException | None) -> Job:
    job = Job.objects.create(kind=Job.Kind.STATS)
    Scripted.outcome = outcome
    Scripted.handle(job.pk)
    job.refresh_from_db()
    return job


def test_it_succeeds_with_the_result_and_audits_the_end() -> None:
    job = run_with(None)
    assert job.status == Job.Status.SUCCEEDED and job.result == {"found": 2}
    assert job.started_at is not None and job.finished_at is not None
    assert job.output == "working\n"
    assert AuditEntry.objects.filter(action="stats-finished", outcome="succeeded", detail__contains=f"job {job.pk}:")


def test_an_error_a_user_can_act_on_fails_it_with_its_message_and_keeps_what_was_found() -> None:
    job = run_with(Refusal("The registry said no: try later."))
    assert job.status == Job.Status.FAILED and job.error == "The registry said no: try later."
    assert job.result == {"found": 1}
    assert job.output.endswith("ERROR: The registry said no: try later.\n")


def test_job_failed_ends_it_with_its_own_result() -> None:
    job = run_with(runner.JobFailed("Stopped halfway.", result={"found": 3}))
    assert job.status == Job.Status.FAILED and job.error == "Stopped halfway." and job.result == {"found": 3}


def test_the_time_limit_fails_it_with_the_kinds_sentence() -> None:
    job = run_with(SoftTimeLimitExceeded())
    assert job.status == Job.Status.FAILED and job.error == "It ran out of time."


def test_an_unexpected_error_fails_it_naming_the_error() -> None:
    job = run_with(KeyError("x"))
    assert job.status == Job.Status.FAILED and job.error == "Unexpected error: KeyError: 'x'"
    assert AuditEntry.objects.filter(action="stats-finished", outcome="failed", detail__contains="KeyError")


def test_a_job_is_never_run_twice() -> None:
    job = Job.objects.create(kind=Job.Kind.STATS)
    Scripted.outcome, Scripted.runs = None, 0
    Scripted.handle(job.pk)
    Scripted.handle(job.pk)  # the task delivered again
    assert Scripted.runs == 1
    assert Job.objects.get(pk=job.pk).output == "working\n"


def test_a_redelivered_statistics_task_does_not_collect_again() -> None:
    job = Job.objects.create(kind=Job.Kind.STATS)
    assert runner.claim(job.pk) is not None  # the first delivery took it
    try:
        stats_collector.StatisticsJob.handle(job.pk)
    finally:
        runner.heartbeat.discard(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.output == "" and job.result is None


@pytest.mark.django_db
def test_a_run_returning_after_the_watchdog_failed_its_job_does_not_turn_it_succeeded() -> None:
    job = Job.objects.create(kind=Job.Kind.STATS, status=Job.Status.RUNNING)
    runner.fail(job, "The worker running this job stopped (time limit passed).")
    runner.succeed(job, {"collected": True})
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.result is None and "time limit" in job.error
    assert "returned (succeeded) after this job had already ended failed" in job.output

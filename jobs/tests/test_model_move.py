"""Job moved from maintenance to jobs on the same table: the rows and the foreign keys to it stay."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jobs.models import Job
from maintenance.models import RegistryMaintenance

pytestmark = pytest.mark.database


def test_the_model_lives_in_jobs_on_its_old_table() -> None:
    assert apps.get_model("jobs", "Job") is Job
    assert Job._meta.db_table == "maintenance_job"
    assert RegistryMaintenance._meta.get_field("job").related_model is Job
    with pytest.raises(LookupError):
        apps.get_model("maintenance", "Job")


@pytest.mark.django_db(transaction=True)
def test_migrating_back_before_the_move_and_forward_again_keeps_the_jobs_and_their_records() -> None:
    job = Job.objects.create(kind=Job.Kind.GC, params={"dry_run": True})
    record = RegistryMaintenance.objects.create(job=job, container_name="registry", mode="stop", attrs={})

    call_command("migrate", "jobs", "zero", verbosity=0)  # maintenance 0008 goes back with it
    before = MigrationExecutor(connection).loader.project_state(("maintenance", "0007_job_kind_retention")).apps
    old_job = before.get_model("maintenance", "Job")
    assert old_job.objects.get(pk=job.pk).params == {"dry_run": True}
    assert before.get_model("maintenance", "RegistryMaintenance").objects.get(pk=record.pk).job_id == job.pk

    call_command("migrate", verbosity=0)
    assert Job.objects.get(pk=job.pk).params == {"dry_run": True}
    assert RegistryMaintenance.objects.get(pk=record.pk).job == job
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []

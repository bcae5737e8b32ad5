"""Who asked for a retention run is the actor of everything it does, "via retention run #N" (issue 25:
a run acc-admin started from the page was audited as "the scheduler ... via scheduler")."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core import tokens
from core.models import AuditEntry
from jobs.models import Job
from retention import run
from retention.tests.helpers import create_policy, exists, preview, push, run_policy

pytestmark = pytest.mark.django_db


def test_a_run_a_user_started_is_audited_as_that_user_via_the_run(
    versioned_registry: Any, repo_prefix: str, admin_client_role: Client
) -> None:
    url, repo = versioned_registry.url, f"{repo_prefix}-{versioned_registry.major}"
    push(url, repo, "v1", 30)
    push(url, repo, "v2", 1)
    policy = create_policy(admin_client_role, repositories=[repo], keep_last=1, then_gc=True)
    found = preview(admin_client_role, policy)

    job = run_policy(admin_client_role, policy, found["fingerprint"])

    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert not exists(url, repo, "v1") and exists(url, repo, "v2")
    assert (job.requested_via, job.requested_by, job.asked_by) == ("session", "ada", "ada")
    deletes = AuditEntry.objects.filter(action="delete-tag", repository=repo)
    assert [(e.actor, e.user.username if e.user else None, e.via, e.tag) for e in deletes] == [
        ("ada", "ada", f"retention run #{job.pk}", "v1")
    ]
    finished = AuditEntry.objects.get(action="retention-finished")
    assert (finished.actor, finished.via, finished.outcome) == ("ada", f"retention run #{job.pk}", "succeeded")
    assert not AuditEntry.objects.filter(via="scheduler").exists()
    assert not AuditEntry.objects.filter(actor__in=["scheduler", "system"]).exists()
    # The GC the run queued afterwards is ada's too, and says which run queued it.
    gc = Job.objects.get(pk=job.result["gc_job"])
    assert (gc.kind, gc.requested_via, gc.asked_by) == ("gc", "session", "ada")
    queued = AuditEntry.objects.get(action="gc-queued")
    assert (queued.actor, queued.via) == ("ada", f"retention run #{job.pk}")

    answer = admin_client_role.get(f"/api/v1/jobs/{job.pk}/").json()
    assert answer["user"] == "ada" and answer["requested_via"] == "session" and answer["asked_by"] == "ada"
    log = admin_client_role.get("/audit/").content.decode()
    assert f'via <a href="/maintenance/jobs/{job.pk}/">retention run #{job.pk}</a>' in log
    page = admin_client_role.get(job.get_absolute_url()).content.decode()
    assert 'data-testid="job-asked-by">ada<' in page


def test_a_run_started_with_an_api_token_names_the_token_and_credits_its_owner(
    registry: Any, repo_prefix: str, admin_client_role: Client, admin_user: User, client: Client
) -> None:
    push(registry.url, repo_prefix, "old", 30)
    push(registry.url, repo_prefix, "new", 1)
    policy = create_policy(admin_client_role, repositories=[repo_prefix], keep_last=1)
    found = preview(admin_client_role, policy)
    _token, raw = tokens.create(admin_user, "ci", "admin")

    answer = client.post(
        f"/api/v1/retention-policies/{policy['id']}/run/",
        {"fingerprint": found["fingerprint"]},
        content_type="application/json",
        headers={"Authorization": f"Token {raw}"},
    )
    assert answer.status_code == 202, answer.content
    run.run(answer.json()["id"])
    job = Job.objects.get(pk=answer.json()["id"])

    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert (job.requested_via, job.token_name, job.asked_by) == ("token", "ci", "ada's API token ci")
    (deleted,) = AuditEntry.objects.filter(action="delete-tag", repository=repo_prefix)
    assert (deleted.actor, deleted.via, deleted.tag) == ("ada", f"retention run #{job.pk}", "old")
    assert AuditEntry.objects.get(action="retention-queued").via == "token"
    body = client.get(f"/api/v1/jobs/{job.pk}/", headers={"Authorization": f"Token {raw}"}).json()
    assert body["requested_via"] == "token" and body["token_name"] == "ci" and body["asked_by"] == "ada's API token ci"

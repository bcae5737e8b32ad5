"""A job page reads as sentences: parameters in words, no empty " · · " (issue 25)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jobs.models import Job

pytestmark = pytest.mark.django_db


def _facts(client: Client, job: Job) -> str:
    page = client.get(job.get_absolute_url()).content.decode()
    line = re.search(r'<p class="muted">(.*?)</p>', page, re.S)
    assert line is not None
    return " ".join(re.sub(r"<[^>]+>", "", line[1]).split())


def test_a_job_without_parameters_has_no_empty_separator(viewer_client: Client) -> None:
    job = Job.objects.create(kind=Job.Kind.VERIFY, status=Job.Status.FAILED, params={})
    facts = _facts(viewer_client, job)
    assert facts.startswith("failed · queued ") and "· ·" not in facts


def test_a_retention_run_names_its_policy_in_words(viewer_client: Client) -> None:
    job = Job.objects.create(
        kind=Job.Kind.RETENTION,
        status=Job.Status.QUEUED,
        params={"policy": 6, "policy_name": "web", "fingerprint": "0aeb8aab" * 8},
    )
    facts = _facts(viewer_client, job)
    assert "policy “web”, exactly the previewed plan" in facts
    assert "policy=" not in facts and "fingerprint" not in facts and "0aeb8aab" not in facts


def test_other_parameters_read_as_words_not_assignments(viewer_client: Client) -> None:
    job = Job.objects.create(kind=Job.Kind.UPDATE, status=Job.Status.QUEUED, params={"target_image": "registry:3"})
    facts = _facts(viewer_client, job)
    assert "target image: registry:3" in facts and "=" not in facts

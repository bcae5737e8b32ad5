"""Each announcement in words a person reads at a glance, with the link to its page; a login lockout
reaches a channel from the real login form."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conftest import make_user
from core import notable
from notifications import messages
from notifications.tests.conftest import Receiver
from notifications.tests.test_delivery import channel, rule


@pytest.fixture(autouse=True)
def _dashboard(settings: Any) -> None:
    settings.DASHBOARD_URL = "http://nas.lan:8000"


@pytest.mark.parametrize(
    ("kind", "facts", "title", "words", "link"),
    [
        (
            notable.PUSH,
            {"repository": "prod/web", "tag": "v1.2.3", "digest": "sha256:" + "a" * 64, "actor": "ci"},
            "Pushed prod/web:v1.2.3",
            "prod/web:v1.2.3 was pushed by ci (sha256:aaaaaaaaaaaa).",
            "/catalog/r/prod/web/-/t/v1.2.3/",
        ),
        (
            notable.DELETE,
            {"repository": "prod/web", "tag": "", "digest": "sha256:" + "b" * 64, "actor": ""},
            "Deleted prod/web@sha256:bbbbbbbbbbbb",
            "prod/web@sha256:bbbbbbbbbbbb was deleted.",
            "/catalog/r/prod/web/",
        ),
        (
            notable.JOB_FINISHED,
            {
                "job": 7,
                "job_kind": "gc",
                "status": "succeeded",
                "result": {"bytes_freed": 3 * 1024**3, "blobs_eligible": 12, "manifests_eligible": 3},
                "path": "/maintenance/jobs/7/",
            },
            "Garbage collection #7 finished",
            "3.0 GB freed; 12 blobs and 3 manifests were eligible.",
            "/maintenance/jobs/7/",
        ),
        (
            notable.JOB_FINISHED,
            {"job": 8, "job_kind": "retention", "status": "succeeded", "result": {"summary": "Deleted 200 tags"}},
            "Retention run #8 finished",
            "Deleted 200 tags",
            "/maintenance/jobs/8/",
        ),
        (
            notable.JOB_FINISHED,
            {"job": 9, "job_kind": "verify", "status": "succeeded", "result": {"ok": False, "missing_count": 4}},
            "Registry verification #9 found damage",
            "4 manifests or blobs that tags reference are missing",
            "/maintenance/jobs/9/",
        ),
        (
            notable.JOB_FINISHED,
            {
                "job": 10,
                "job_kind": "retention",
                "job_kind_label": "Retention run",
                "status": "warning",
                "error": "Only part of the plan was done: 1 tag of 3 deleted, 1 delete failed.",
                "asked_by": "acc-admin",
                "result": {"summary": "Deleted 1 tag and 1 manifest."},
            },
            "Retention run #10 found problems",
            "Only part of the plan was done: 1 tag of 3 deleted, 1 delete failed. (asked by acc-admin)",
            "/maintenance/jobs/10/",
        ),
        (
            notable.REGISTRY_UP,
            {"url": "http://registry:5000", "down_seconds": 5400},
            "The registry answers again",
            "http://registry:5000 answers again, after 1 h 30 min down.",
            "/registry/",
        ),
        (
            notable.DISK_USAGE,
            {"percent": 93, "used_bytes": 93 * 1024**3, "total_bytes": 100 * 1024**3},
            "The registry's disk is 93% full",
            "93.0 GB of 100.0 GB used",
            "/maintenance/storage/",
        ),
    ],
)
def test_each_announcement_reads_as_a_sentence_with_its_link(
    kind: str, facts: dict[str, Any], title: str, words: str, link: str
) -> None:
    message = messages.compose(kind, facts)
    assert message.title == title and words in message.text
    assert message.link == f"http://nas.lan:8000{link}" and message.text.endswith(message.link)


@pytest.mark.django_db(transaction=True)
def test_a_login_lockout_reaches_the_channel(
    admin_client_role: Client, receiver: Receiver, celery_worker: object, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    made = channel(admin_client_role, f"{receiver.url}/lockout")
    rule(admin_client_role, made["id"], ["login-lockout"])
    make_user("vera", "viewer")
    browser = Client()
    for _ in range(3):
        browser.post("/accounts/login/", {"username": "vera", "password": "wrong"}, REMOTE_ADDR="192.168.1.20")
    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert body["title"] == "Login locked out: vera"
    assert "from 192.168.1.20" in body["text"] and body["link"] == "http://nas.lan:8000/audit/"
    assert isinstance(User.objects.get(username="vera"), User)


def test_a_job_that_found_problems_is_told_to_any_job_failed_rules_not_as_a_finished_gc() -> None:
    from notifications.topics import topics_of

    warned = {"job": 11, "job_kind": "retention", "status": "warning", "error": "1 delete failed"}
    assert topics_of(notable.JOB_FINISHED, warned) == ["retention-run", "job-failed"]
    assert "gc-finished" not in topics_of(notable.JOB_FINISHED, {**warned, "job_kind": "gc"})

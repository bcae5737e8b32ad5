"""Helpers for retention's registry tests: push images with dates, sync, preview and run through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from inventory import sync
from jobs.models import Job
from retention import run
from testenv import images

DAY = dt.timedelta(days=1)


def days_ago(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - days * DAY


def push(url: str, repo: str, tag: str, age_days: float | None) -> str:
    """An image whose config says it was created ``age_days`` ago (None: no date at all)."""
    return images.push_oci_image(url, repo, tag, created=None if age_days is None else days_ago(age_days))


def create_policy(client: Client, **fields: Any) -> dict[str, Any]:
    body = {"name": f"policy {fields.get('repositories')}", "order_by": "created", **fields}
    if not any(fields.get(rule) for rule in ("keep_last", "keep_days", "keep_pulled_days", "keep_tags")):
        body.setdefault("acknowledge_keeps_nothing", True)  # the API refuses a keep-nothing policy without it
    answer = client.post("/api/v1/retention-policies/", body, content_type="application/json")
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def preview(client: Client, policy: dict[str, Any]) -> dict[str, Any]:
    sync.reconcile()
    answer = client.post(f"/api/v1/retention-policies/{policy['id']}/preview/")
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def decisions(found: dict[str, Any], repo: str) -> tuple[dict[str, str], dict[str, str]]:
    """({tag: reason} deleted, {tag: reason} kept) of one repository of a preview."""
    (entry,) = [r for r in found["repositories"] if r["name"] == repo]
    return {e["tag"]: e["reason"] for e in entry["delete"]}, {e["tag"]: e["reason"] for e in entry["keep"]}


def run_policy(client: Client, policy: dict[str, Any], fingerprint: str | None = None) -> Job:
    """POST run (202), then the worker's side in this process; the finished job."""
    body = {"fingerprint": fingerprint} if fingerprint else {}
    answer = client.post(f"/api/v1/retention-policies/{policy['id']}/run/", body, content_type="application/json")
    assert answer.status_code == 202, answer.content
    assert set(answer.json()) == {"id", "url", "page", "status"}
    run.run(answer.json()["id"])
    return Job.objects.get(pk=answer.json()["id"])


def exists(url: str, repo: str, reference: str) -> bool:
    return images.manifest_digest(url, repo, reference) is not None

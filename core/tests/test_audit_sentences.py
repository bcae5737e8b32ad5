"""The audit log reads as sentences with links to repositories, tags and jobs (issue 17)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core import audit


def sentences(client: Client) -> list[str]:
    html = client.get("/audit/").content.decode()
    return re.findall(r'data-testid="audit-sentence">(.*?)</span>', html, flags=re.S)


@pytest.mark.django_db
def test_entries_read_as_sentences_with_links(admin_client_role: Client, admin_user: object) -> None:
    digest = "sha256:" + "b" * 64
    audit.record(
        action="delete-tag",
        outcome="succeeded",
        user=admin_user,
        repository="acme/app",
        tag="1.0",
        digest=digest,
        detail="Deleted tag 1.0 only; its manifest stays.",
    )  # type: ignore[arg-type]
    audit.record(
        action="delete-manifest",
        outcome="refused",
        user=admin_user,
        repository="acme/app",
        digest=digest,
        detail="It is a platform of an index.",
    )  # type: ignore[arg-type]
    audit.record(action="gc-queued", outcome="started", user=admin_user, detail="job 12 {'dry_run': True}")  # type: ignore[arg-type]
    audit.record(action="gc-finished", outcome="failed", via="scheduler", detail="job 13: no engine")
    found = sentences(admin_client_role)
    assert (
        found[0] == '<strong>the scheduler</strong> garbage collection <a href="/maintenance/jobs/13/">#13</a> failed.'
    )
    assert found[1] == '<strong>ada</strong> queued garbage collection <a href="/maintenance/jobs/12/">#12</a>.'
    assert found[2].startswith("<strong>ada</strong> tried to delete manifest <code") and found[2].endswith(
        'of <a href="/catalog/r/acme/app/">acme/app</a>: refused.'
    )
    assert found[3] == (
        '<strong>ada</strong> deleted tag <a href="/catalog/r/acme/app/">acme/app</a>:'
        '<a href="/catalog/r/acme/app/-/t/1.0/">1.0</a>.'
    )
    html = admin_client_role.get("/audit/").content.decode()
    assert "{&#x27;dry_run&#x27;: True}" in html and "<details><summary>Details</summary>" in html  # raw data folded


@pytest.mark.django_db
def test_registry_data_in_sentences_is_escaped(admin_client_role: Client) -> None:
    audit.record(action="delete-tag", outcome="failed", repository="<b>x</b>", tag="<i>", detail="")
    html = admin_client_role.get("/audit/").content.decode()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html

"""The audit log page and GET /api/v1/audit/ with filters."""

import importlib

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from core import audit
from core.models import AuditEntry

# Database-heavy: make test runs these on SQLite and again on PostgreSQL.
pytestmark = pytest.mark.database


@pytest.fixture
def entries(operator: User) -> None:
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.7")
    request.user = operator
    audit.record(
        action="delete-tag",
        outcome="succeeded",
        request=request,
        repository="team/app",
        tag="1.0",
        digest="sha256:" + "a" * 64,
    )
    audit.record(
        action="delete-tag",
        outcome="refused",
        request=request,
        repository="other",
        tag="<b>x</b>",
        detail="shared with stable",
        registry_response='{"errors":[{"code":"DIGEST_INVALID"}]}',
    )
    audit.record(action="gc", outcome="started", user=None, detail="scheduled")


@pytest.mark.django_db
def test_an_entry_records_who_from_where_and_how(entries: None) -> None:
    first = AuditEntry.objects.get(repository="team/app")
    assert first.actor == "otto" and first.via == "session" and first.ip == "192.0.2.7"
    system = AuditEntry.objects.get(action="gc")
    # Neither a request nor a job: the dashboard itself, never "the scheduler" (issue 25: a token
    # made on the command line was audited "via scheduler").
    assert system.actor == "system" and system.via == "system" and system.user is None


@pytest.mark.django_db
def test_the_api_lists_and_filters(viewer_client: Client, entries: None) -> None:
    body = viewer_client.get("/api/v1/audit/").json()
    assert body["count"] == 3 and set(body) == {"count", "next", "previous", "results"}
    refused = viewer_client.get("/api/v1/audit/?outcome=refused").json()
    assert [e["repository"] for e in refused["results"]] == ["other"]
    assert refused["results"][0]["registry_response"].startswith('{"errors"')
    team = viewer_client.get("/api/v1/audit/?repository=team/").json()
    assert [e["tag"] for e in team["results"]] == ["1.0"]
    paged = viewer_client.get("/api/v1/audit/?page_size=2").json()
    assert len(paged["results"]) == 2 and paged["next"]


@pytest.mark.django_db
def test_a_bad_filter_is_a_400_naming_it(viewer_client: Client, entries: None) -> None:
    response = viewer_client.get("/api/v1/audit/?since=yesterday")
    assert response.status_code == 400
    assert "since" in response.json()
    page = viewer_client.get("/audit/?since=yesterday")
    assert page.status_code == 400 and b"Check the filters" in page.content


@pytest.mark.django_db
def test_the_page_escapes_what_users_typed(viewer_client: Client, entries: None) -> None:
    page = viewer_client.get("/audit/")
    assert page.status_code == 200
    assert b"&lt;b&gt;x&lt;/b&gt;" in page.content and b"<b>x</b>" not in page.content


@pytest.mark.django_db
def test_users_without_a_role_cannot_read_it(entries: None) -> None:
    from conftest import make_user

    client = Client()
    client.force_login(make_user("nobody", None))
    assert client.get("/audit/").status_code == 403
    assert client.get("/api/v1/audit/").status_code == 403


@pytest.mark.django_db
def test_deletes_recorded_before_the_fields_existed_get_them_from_their_sentence() -> None:
    from django.apps import apps

    backfill = importlib.import_module("core.migrations.0004_audit_fields").fields_from_sentences
    image, stays, artifact = ("sha256:" + c * 64 for c in "abc")
    old = {
        "image": AuditEntry.objects.create(
            action="delete-tag",
            outcome="succeeded",
            repository="team/app",
            tag="1.0",
            digest=image,
            detail=f"Deleted tag 1.0, then its manifest {image}, which no tag named any more. "
            f"With it 1 attached artifact (by digest): {artifact}.",
        ),
        "tag only": AuditEntry.objects.create(
            action="delete-tag",
            outcome="succeeded",
            repository="team/app",
            tag="2.0",
            digest=stays,
            detail=f"Deleted tag 2.0 only; its manifest {stays} stays.",
        ),
        "refused": AuditEntry.objects.create(
            action="delete-tag", outcome="refused", repository="team/app", tag="3.0", digest=image, detail="No."
        ),
    }
    backfill(apps, None)
    for entry in old.values():
        entry.refresh_from_db()
    assert old["image"].fields == {"deleted_manifests": [image], "attached": [artifact]}
    assert old["tag only"].fields == {"deleted_manifests": [], "attached": []}
    assert old["refused"].fields == {}

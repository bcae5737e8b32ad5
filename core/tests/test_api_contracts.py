"""What schemathesis found in the API, kept as plain regression tests (fixed where input is read)."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import AuditEntry


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/?until=",
        "/api/v1/audit/?outcome=maybe",
        "/api/v1/audit/?action=",
        "/api/v1/jobs/?page_size=null",
        "/api/v1/jobs/?page_size=1001",
        "/api/v1/jobs/?page_size=0",
        "/api/v1/jobs/?kind=",
        "/api/v1/jobs/?page=",
        "/api/v1/audit/?page=x",
        "/api/v1/stats/history/?since=",
        "/api/v1/stats/history/?fields=",
        "/api/v1/stats/history/?fields=nope",
    ],
)
def test_a_given_but_empty_or_unknown_parameter_is_a_400(viewer_client: Client, path: str) -> None:
    response = viewer_client.get(path)
    assert response.status_code == (404 if "page=" in path else 400), response.content
    assert response.json()


@pytest.mark.django_db
def test_the_filters_still_filter(viewer_client: Client) -> None:
    AuditEntry.objects.create(action="delete-tag", outcome="refused", actor="otto")
    AuditEntry.objects.create(action="gc-queued", outcome="started", actor="otto")
    assert [e["action"] for e in viewer_client.get("/api/v1/audit/?outcome=refused").json()["results"]] == [
        "delete-tag"
    ]
    assert viewer_client.get("/api/v1/audit/?page_size=1").json()["next"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/jobs/0.5/", "/api/v1/schedules/0.5/", "/api/v1/schedules/-1/"])
def test_ids_that_are_not_numbers_are_a_json_404(viewer_client: Client, path: str) -> None:
    response = viewer_client.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_the_api_reads_json_only(operator_client: Client) -> None:
    form = operator_client.post("/api/v1/gc/", {"dry_run": "false", "mode": "online"})
    assert form.status_code == 415
    null = operator_client.post("/api/v1/gc/", "null", content_type="application/json")
    assert null.status_code == 400
    unknown = operator_client.post("/api/v1/registry/pause/", {"sconds": 60}, content_type="application/json")
    assert unknown.status_code == 400


@pytest.mark.django_db
def test_the_schema_answers_json_or_yaml_only(viewer_client: Client) -> None:
    assert viewer_client.get("/api/v1/schema/?format=").status_code == 404
    assert viewer_client.get("/api/v1/schema/?format=xml").status_code == 404
    assert viewer_client.get("/api/v1/schema/?format=yaml").status_code == 200


@pytest.mark.django_db
def test_bulk_delete_flags_are_json_booleans(operator_client: Client) -> None:
    response = operator_client.post(
        "/api/v1/repositories/team/app/bulk-delete/", {"tags": ["1.0"], "prune": 0}, content_type="application/json"
    )
    assert response.status_code == 400 and "prune" in response.json()


@pytest.mark.django_db
def test_bulk_delete_tags_are_json_strings_and_events_answer_options(operator_client: Client) -> None:
    response = operator_client.post(
        "/api/v1/repositories/team/app/bulk-delete/", {"tags": [0]}, content_type="application/json"
    )
    assert response.status_code == 400 and "tags" in response.json()
    assert operator_client.options("/api/v1/events/").status_code == 200

"""Request bodies refuse what they do not know and what would make the parser recurse (issue 26).

The tests walk the live schema: every write operation gets a body with a field it does not name
(400 naming the field, nothing changed; an operation that takes no body refuses any), and every
operation that takes a body gets one nested 100,000 levels (400 saying so). A new endpoint is
covered without being listed here; one whose body is not a StrictSerializer does not even
produce a schema (core.api.openapi.AutoSchema).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import serializers as django_serializers
from django.test import Client
from django_celery_beat.models import PeriodicTask

from catalog.models import ProtectedTag
from conftest import make_user
from core.models import AuditEntry
from inventory.models import Event
from maintenance import schedules
from maintenance.models import Job
from retention.models import RetentionPolicy
from testenv import images
from testenv.services import RegistryService

pytestmark = [pytest.mark.django_db, pytest.mark.database]
EVENTS_TOKEN = "strict-bodies-events-token"
EXTRA = "dryrun"  # the typo of the issue: {"tags": ["v3"], "dryrun": true} deleted for real


def write_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch", "delete"):
                found.append((method, path, operation))
    return found


def body_operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (method, path, operation) for method, path, operation in write_operations(schema) if "requestBody" in operation
    ]
    assert len(found) >= 12, found  # every body of the API, events to retention
    return found


def state() -> str:
    """Everything an accepted body could change, as text."""
    rows = [
        *ProtectedTag.objects.order_by("pk"),
        *RetentionPolicy.objects.order_by("pk"),
        *PeriodicTask.objects.order_by("pk"),
        *Job.objects.order_by("pk"),
        *Event.objects.order_by("pk"),
        *AuditEntry.objects.order_by("pk"),
    ]
    return django_serializers.serialize("json", rows)


@pytest.fixture
def world(registry: RegistryService, settings: Any) -> dict[str, Any]:
    """A repository with tag v3 in the real registry, a retention policy and a GC schedule."""
    settings.REGISTRY_EVENTS_TOKEN = EVENTS_TOKEN
    repo = f"strict/{uuid.uuid4().hex[:8]}"
    digest = images.push_oci_image(registry.url, repo, "v3")
    policy = RetentionPolicy.objects.create(name="strict", repositories=["strict/**"], keep_last=1)
    schedule = schedules.create({"cron": "0 3 * * 0"})
    rule = ProtectedTag.objects.create(repositories="strict/**", tags="^v9$")
    return {
        "name": repo,
        "digest": digest,
        "id": {"/retention-policies/": policy.pk, "/schedules/": schedule.pk, "/protected-tags/": rule.pk},
        "registry": registry,
    }


def concrete(path: str, world: dict[str, Any]) -> str:
    path = path.replace("{name}", world["name"]).replace("{tag}", "v3").replace("{digest}", world["digest"])
    for prefix, pk in world["id"].items():
        if prefix in path:
            path = path.replace("{id}", str(pk))
    assert "{" not in path, path
    return path


def send(client: Client, method: str, path: str, body: str) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {EVENTS_TOKEN}"} if path == "/api/v1/events/" else {}
    return getattr(client, method)(path, body, content_type="application/json", **headers)


@pytest.fixture
def admin(db: None) -> Client:
    user: User = make_user(f"strict-{uuid.uuid4().hex[:6]}", "admin")
    client = Client()
    client.force_login(user)
    return client


def test_every_body_refuses_a_field_it_does_not_know_and_changes_nothing(admin: Client, world: dict) -> None:
    schema = json.loads(admin.get("/api/v1/schema/?format=json").content)
    components = schema["components"]["schemas"]
    for method, template, operation in write_operations(schema):
        if "requestBody" in operation:
            reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
            assert components[reference].get("additionalProperties") is False, f"{method} {template}: {reference}"
        path = concrete(template, world)
        body = {"tags": ["v3"], EXTRA: True} if template.endswith("/bulk-delete/") else {EXTRA: True}
        if template == "/api/v1/events/":
            body = {"events": [], EXTRA: True}
        before = state()
        answer = send(admin, method, path, json.dumps(body))
        assert answer.status_code == 400, (method, path, answer.status_code, answer.content[:300])
        assert EXTRA in answer.content.decode(), (method, path, answer.content[:300])  # named
        assert state() == before, f"{method} {path} changed something"
    # The issue's case against the real registry (and the deletes' paths): the tag is still there.
    assert images.manifest_digest(world["registry"].url, world["name"], "v3") is not None


def test_the_bulk_delete_typo_of_the_issue_is_400_and_the_tag_remains(admin: Client, world: dict) -> None:
    answer = admin.post(
        f"/api/v1/repositories/{world['name']}/bulk-delete/",
        {"tags": ["v3"], "dryrun": True},
        content_type="application/json",
    )
    assert answer.status_code == 400, answer.content
    assert answer.json() == {"dryrun": "Unknown field: the fields are tags, dry_run, force, prune."}
    assert images.manifest_digest(world["registry"].url, world["name"], "v3") is not None
    assert not AuditEntry.objects.filter(repository=world["name"]).exists()


@pytest.mark.parametrize("levels", [65, 100_000])
def test_every_body_nested_deeper_than_64_levels_is_a_400_saying_so(admin: Client, world: dict, levels: int) -> None:
    schema = json.loads(admin.get("/api/v1/schema/?format=json").content)
    deep = "[" * levels + "]" * levels
    for method, template, _ in body_operations(schema):
        path = concrete(template, world)
        before = state()
        answer = send(admin, method, path, deep)
        assert answer.status_code == 400, (method, path, answer.status_code, answer.content[:300])
        assert "nested deeper than 64 levels" in answer.json()["detail"], (method, path)
        assert state() == before


def test_a_method_an_operation_lacks_is_still_a_405_with_a_body(admin: Client, world: dict) -> None:
    for method, path in [
        ("put", f"/api/v1/repositories/{world['name']}/bulk-delete/"),
        ("post", "/api/v1/schedules/0/"),
        ("put", "/api/v1/retention-policies/0/run/"),
        ("post", "/api/v1/registry/restart/x/"),
        ("delete", "/api/v1/gc/"),
        ("delete", "/api/v1/events/"),
        ("delete", "/api/v1/retention-policies/0/run/"),
    ]:
        answer = send(admin, method, path, json.dumps({"tags": ["v3"]}))
        assert answer.status_code in (404, 405), (method, path, answer.status_code, answer.content[:200])


def test_a_request_body_that_is_not_a_strict_serializer_makes_no_schema() -> None:
    """A new endpoint cannot forget: its body's serializer must refuse unknown fields."""
    from django.core.exceptions import ImproperlyConfigured
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.utils import extend_schema
    from rest_framework import serializers
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class LooseSerializer(serializers.Serializer):
        dry_run = serializers.BooleanField()

    class LooseView(APIView):
        @extend_schema(request=LooseSerializer, responses={200: None})
        def post(self, request: Request) -> Response:
            return Response()

    generator = SchemaGenerator(patterns=[path("api/v1/loose/", LooseView.as_view())])
    with pytest.raises(
        ImproperlyConfigured, match=r"LooseSerializer must derive from core\.api\.schema\.StrictSerializer"
    ):
        generator.get_schema(request=None, public=True)

"""Every API operation, called by every kind of caller, is allowed or refused exactly as
``core.api.permission_matrix`` says (issue 26).

The operations come from the live schema (/api/v1/schema/): one missing from the table fails,
and so does a table entry the schema no longer has. Each is called as anonymous, as a viewer, an
operator and an admin (sessions), with a named token of each role (of an admin, so the token's
role is what caps it) and with the registry's events token. A refusal is 401 or 403; anything
else means the permission check let the call through (the authentication and permission code
runs for real). The calls stop before side effects: bodies carry a field the operation does not
know (400 after the permission check), ids and names do not exist (404), and the few handlers
that would wait for a worker (container actions, diagnostics, health) answer at once.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from conftest import make_user
from core import health, tokens
from core.api.permission_matrix import MATRIX, Access
from core.roles import Role
from maintenance import services as maintenance_services

pytestmark = [pytest.mark.django_db]
EVENTS_TOKEN = "matrix-events-token"
PROBE = "matrix_probe"  # a field no body has: a 400 once the permission check has passed


@pytest.fixture
def quick_handlers(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """No throttling (hundreds of calls from one address), and no handler waiting for a worker."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"token": "100000/minute", "anon": "100000/minute"})
    monkeypatch.setattr(maintenance_services, "container_action", lambda *args, **kwargs: SimpleNamespace(result=None))
    monkeypatch.setattr(maintenance_services, "diagnostics_report", lambda *a, **k: SimpleNamespace(as_dict=dict))
    monkeypatch.setattr(health, "report", lambda *a, **k: SimpleNamespace(ok=True, as_dict=dict))
    settings.REGISTRY_EVENTS_TOKEN = EVENTS_TOKEN


def callers() -> dict[str, tuple[Client, Any]]:
    """name -> (client, what the table is asked with: a user role, ("token", role) or "events")."""
    found: dict[str, tuple[Client, Any]] = {"anonymous": (Client(), None)}
    for role in Role:
        client = Client()
        client.force_login(make_user(f"matrix-{role.group_name}", role.group_name))
        found[f"{role.group_name} user"] = (client, role)
    owner = make_user("matrix-token-owner", "admin")
    for role in Role:
        _, raw = tokens.create(owner, f"matrix-{role.group_name}", role)
        found[f"{role.group_name} token"] = (Client(HTTP_AUTHORIZATION=f"Token {raw}"), ("token", role))
    found["events token"] = (Client(HTTP_AUTHORIZATION=f"Bearer {EVENTS_TOKEN}"), "events")
    return found


def allowed(access: Access, caller: Any) -> bool:
    if caller == "events":
        return access.events_token
    if isinstance(caller, tuple):
        return access.allows_token(caller[1])
    return access.allows_user(caller)


def concrete(path: str) -> str:
    return (
        path.replace("{name}", f"matrix/none-{uuid.uuid4().hex[:6]}")
        .replace("{tag}", "v1")
        .replace("{digest}", "sha256:" + "0" * 64)
        .replace("{id}", "999999")
    )


def call(client: Client, method: str, path: str, operation: dict[str, Any], caller: Any) -> int:
    if path == "/api/v1/events/" and method == "post":
        body: str | None = json.dumps({"events": []})  # accepted, stores nothing
    elif "requestBody" in operation:
        body = json.dumps({PROBE: True})
    else:
        body = None
    if body is None:
        answer = getattr(client, method)(path)
    else:
        answer = getattr(client, method)(path, body, content_type="application/json")
    return int(answer.status_code)


def test_every_operation_allows_exactly_the_callers_the_table_names(
    registry: Any, viewer_client: Client, quick_handlers: None
) -> None:
    schema = json.loads(viewer_client.get("/api/v1/schema/?format=json").content)
    operations = {
        f"{method.upper()} {path}": (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert sorted(set(operations) - set(MATRIX)) == [], "operations missing from core/api/permission_matrix.py"
    assert sorted(set(MATRIX) - set(operations)) == [], "table entries the schema no longer has"

    wrong = []
    everyone = callers()
    for label, (method, template, operation) in sorted(operations.items()):
        for name, (client, caller) in everyone.items():
            status = call(client, method, concrete(template), operation, caller)
            expected = allowed(MATRIX[label], caller)
            if (status in (401, 403)) == expected:
                wrong.append(f"{label} as {name}: {status}; the table says {'allowed' if expected else 'refused'}")
    assert wrong == []

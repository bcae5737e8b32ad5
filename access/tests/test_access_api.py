"""/api/v1/robots/, /api/v1/anonymous-pulls/, /api/v1/token-requests/: admins change, bodies are strict, errors JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from access.models import Robot, RobotRule, TokenRequest
from access.tokens import secret_digest
from core.models import AuditEntry

pytestmark = pytest.mark.django_db

RULES = [{"repositories": "ci/**", "actions": ["push", "pull"]}]


def post(client: Client, url: str, data: Any) -> Any:
    return client.post(url, data, content_type="application/json")


def test_an_admin_makes_a_robot_and_sees_its_secret_once(admin_client_role: Client) -> None:
    expires = (timezone.now() + dt.timedelta(days=30)).isoformat()

    made = post(admin_client_role, "/api/v1/robots/", {"name": "ci", "rules": RULES, "expires_at": expires})
    listed = admin_client_role.get("/api/v1/robots/").json()["results"]

    assert made.status_code == 201, made.content
    answer = made.json()
    assert answer["login"] == "robot$ci" and answer["state"] == "active"
    assert answer["rules"] == [{"repositories": "ci/**", "actions": ["pull", "push"]}]
    assert answer["secret"].startswith("rs_")
    robot = Robot.objects.get(name="ci")
    assert robot.secret_hash == secret_digest(answer["secret"]) and answer["secret"] not in robot.secret_hash
    assert listed == [{k: v for k, v in answer.items() if k != "secret"}]
    entry = AuditEntry.objects.get(action="robot-create")
    assert entry.actor == "ada" and "robot$ci: ci/**: pull,push" in entry.detail
    assert answer["secret"] not in entry.detail


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "ci", "rules": RULES, "colour": "red"}, "colour", "Unknown field"),
        ({"name": "Bad Name", "rules": RULES}, "name", ""),
        ({"name": "dashboard", "rules": RULES}, "name", "own account: choose another name"),
        ({"name": "ci", "rules": [{"repositories": "ci/**", "actions": ["fly"]}]}, "rules", ""),
        ({"name": "ci", "rules": [{"repositories": "ci/***", "actions": ["pull"]}]}, "rules", ""),
        ({"name": "ci", "rules": [{"repositories": "ci/**", "actions": ["pull"], "x": 1}]}, "rules", ""),
        ({"name": "ci", "rules": RULES, "expires_at": "tomorrow"}, "expires_at", ""),
    ],
)
def test_bad_robot_bodies_are_400_naming_the_field(
    admin_client_role: Client, body: dict[str, Any], field: str, message: str
) -> None:
    answer = post(admin_client_role, "/api/v1/robots/", body)

    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert message in str(answer.json()[field])
    assert not Robot.objects.exists()


def test_a_name_taken_is_409(admin_client_role: Client) -> None:
    assert post(admin_client_role, "/api/v1/robots/", {"name": "ci", "rules": RULES}).status_code == 201

    again = post(admin_client_role, "/api/v1/robots/", {"name": "ci", "rules": RULES})

    assert again.status_code == 409 and "ci" in again.json()["name"] and again.json()["detail"] == again.json()["name"]


def test_a_robot_made_with_an_expiry_already_past_is_expired(admin_client_role: Client) -> None:
    made = post(admin_client_role, "/api/v1/robots/", {"name": "ci", "rules": RULES, "expires_at": "2000-01-01T00:00"})

    assert made.status_code == 201 and made.json()["state"] == "expired"


def test_an_admin_changes_revokes_and_deletes_a_robot(admin_client_role: Client) -> None:
    robot_id = post(admin_client_role, "/api/v1/robots/", {"name": "ci", "rules": RULES}).json()["id"]

    changed = admin_client_role.patch(
        f"/api/v1/robots/{robot_id}/",
        {"rules": [{"repositories": "**", "actions": ["pull"]}], "description": "nightly"},
        content_type="application/json",
    )
    revoked = admin_client_role.post(f"/api/v1/robots/{robot_id}/revoke/")
    deleted = admin_client_role.delete(f"/api/v1/robots/{robot_id}/")
    missing = admin_client_role.get(f"/api/v1/robots/{robot_id}/")
    not_a_number = admin_client_role.get("/api/v1/robots/x/")

    assert changed.status_code == 200 and changed.json()["rules"] == [{"repositories": "**", "actions": ["pull"]}]
    assert changed.json()["description"] == "nightly"
    assert revoked.json()["state"] == "revoked"
    assert deleted.status_code == 204 and not RobotRule.objects.exists()
    assert missing.status_code == 404 and "detail" in missing.json()
    assert not_a_number.status_code == 404 and "detail" in not_a_number.json()
    assert [e.action for e in AuditEntry.objects.order_by("id")] == [
        "robot-create",
        "robot-change",
        "robot-revoke",
        "robot-delete",
    ]


def test_operators_and_viewers_cannot_see_or_make_robots(operator_client: Client, viewer_client: Client) -> None:
    for client in (operator_client, viewer_client):
        assert client.get("/api/v1/robots/").status_code == 403
        assert post(client, "/api/v1/robots/", {"name": "ci", "rules": RULES}).status_code == 403
        assert post(client, "/api/v1/anonymous-pulls/", {"repositories": "public/**"}).status_code == 403
    assert Client().get("/api/v1/robots/").status_code in (401, 403)


def test_anonymous_pull_rules_through_the_api(admin_client_role: Client) -> None:
    made = post(admin_client_role, "/api/v1/anonymous-pulls/", {"repositories": "public/**"})
    twice = post(admin_client_role, "/api/v1/anonymous-pulls/", {"repositories": "public/**"})
    bad = post(admin_client_role, "/api/v1/anonymous-pulls/", {"repositories": "Public/**"})
    unknown = post(admin_client_role, "/api/v1/anonymous-pulls/", {"repositories": "a", "tags": "x"})
    listed = admin_client_role.get("/api/v1/anonymous-pulls/").json()["results"]
    removed = admin_client_role.delete(f"/api/v1/anonymous-pulls/{made.json()['id']}/")

    assert made.status_code == 201 and made.json()["repositories"] == "public/**"
    assert twice.status_code == 409
    assert bad.status_code == 400 and "repositories" in bad.json()
    assert unknown.status_code == 400 and "tags" in unknown.json()
    assert [rule["repositories"] for rule in listed] == ["public/**"]
    assert removed.status_code == 204


def test_viewers_read_the_token_requests_filtered(viewer_client: Client) -> None:
    TokenRequest.objects.create(account="robot$ci", kind="robot", outcome="issued", granted=["repository:a:pull"])
    TokenRequest.objects.create(account="vera", kind="user", outcome="bad-credentials")

    everything = viewer_client.get("/api/v1/token-requests/").json()
    failed = viewer_client.get("/api/v1/token-requests/?outcome=bad-credentials").json()
    bad = viewer_client.get("/api/v1/token-requests/?outcome=maybe")

    assert everything["count"] == 2
    assert [entry["account"] for entry in failed["results"]] == ["vera"]
    assert bad.status_code == 400 and "outcome" in bad.json()

"""The Access page (admins): robots with their secret shown once, anonymous pulls; the token requests list."""

from __future__ import annotations

import pytest
from django.test import Client

from access.models import AnonymousPullRule, Robot, TokenRequest
from core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_an_admin_makes_a_robot_on_the_page_and_sees_the_docker_login(admin_client_role: Client) -> None:
    page = admin_client_role.post(
        "/access/", {"name": "ci", "description": "CI", "rules": "ci/** pull,push\n** pull", "expires_in_days": "30"}
    )

    assert page.status_code == 201
    html = page.content.decode()
    robot = Robot.objects.get(name="ci")
    assert [rule.describe() for rule in robot.rules.all()] == ["ci/**: pull, push", "**: pull"]
    assert robot.expires_at is not None
    assert "docker login" in html and "-u 'robot$ci' --password-stdin" in html
    secret = html.split('<code id="new-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("rs_") and robot.secret_hash != secret
    again = admin_client_role.get("/access/").content.decode()
    assert secret not in again and "robot$ci" in again


def test_bad_rules_are_shown_on_the_form(admin_client_role: Client) -> None:
    page = admin_client_role.post("/access/", {"name": "ci", "rules": "ci/** fly"})

    assert page.status_code == 400
    assert "Actions are one or more of pull, push, delete" in page.content.decode()
    assert not Robot.objects.exists()


def test_revoking_deleting_and_anonymous_pulls_are_posts_and_audited(admin_client_role: Client) -> None:
    admin_client_role.post("/access/", {"name": "ci", "rules": "** pull"})
    robot = Robot.objects.get()

    assert admin_client_role.get(f"/access/robots/{robot.pk}/revoke/").status_code == 405
    assert admin_client_role.post(f"/access/robots/{robot.pk}/revoke/").status_code == 302
    robot.refresh_from_db()
    assert robot.state == "revoked"
    assert admin_client_role.post("/access/anonymous/", {"repositories": "public/**"}).status_code == 302
    rule = AnonymousPullRule.objects.get()
    assert admin_client_role.post(f"/access/anonymous/{rule.pk}/remove/").status_code == 302
    assert admin_client_role.post(f"/access/robots/{robot.pk}/delete/").status_code == 302
    assert not Robot.objects.exists() and not AnonymousPullRule.objects.exists()
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "robot-create",
        "robot-revoke",
        "anonymous-pull-add",
        "anonymous-pull-remove",
        "robot-delete",
    ]


def test_the_page_needs_csrf_on_its_posts(admin_user: object) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)  # type: ignore[arg-type]

    assert client.post("/access/", {"name": "ci", "rules": "** pull"}).status_code == 403
    assert not Robot.objects.exists()


def test_only_admins_see_the_access_page(operator_client: Client) -> None:
    assert operator_client.get("/access/").status_code == 403
    assert Client().get("/access/").status_code == 302  # to the login page


def test_the_token_requests_are_listed_and_filtered(viewer_client: Client) -> None:
    TokenRequest.objects.create(
        account="robot$ci",
        kind="robot",
        outcome="issued",
        asked=["repository:ci/app:pull,push"],
        granted=["repository:ci/app:pull"],
        refused=["repository:ci/app:push"],
        address="10.0.0.7",
    )
    TokenRequest.objects.create(account="robot$dashboard", kind="dashboard", outcome="issued")

    page = viewer_client.get("/activity/tokens/").content.decode()
    without_dashboard = viewer_client.get("/activity/tokens/?hide_dashboard=on").content.decode()
    activity = viewer_client.get("/activity/").content.decode()

    assert "repository:ci/app:push" in page and "10.0.0.7" in page and "robot$dashboard" in page
    assert "robot$dashboard" not in without_dashboard and "robot$ci" in without_dashboard
    assert "/activity/tokens/" in activity

"""Every page and endpoint needs a login; roles come from groups made by a migration."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import Client

from conftest import PASSWORD, make_user
from core.roles import Role, has_role, role_of


@pytest.mark.database
@pytest.mark.django_db
def test_the_three_role_groups_exist_after_migrating() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator", "admin"}


@pytest.mark.django_db
def test_roles_are_ordered_and_superusers_hold_all() -> None:
    viewer = make_user("v", "viewer")
    operator = make_user("o", "operator")
    nobody = make_user("n", None)
    root = User.objects.create_superuser("r", "r@localhost", PASSWORD)
    assert has_role(viewer, Role.VIEWER) and not has_role(viewer, Role.OPERATOR)
    assert has_role(operator, Role.VIEWER) and has_role(operator, Role.OPERATOR)
    assert not has_role(operator, Role.ADMIN)
    assert role_of(nobody) is None and not has_role(nobody, Role.VIEWER)
    assert role_of(root) == Role.ADMIN
    assert role_of(AnonymousUser()) is None


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/admin/"])
def test_anonymous_pages_redirect_to_the_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.django_db
def test_anonymous_api_requests_get_401_and_no_data(client: Client) -> None:
    response = client.get("/api/v1/health/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db
def test_a_user_without_a_role_gets_403_from_the_api_with_what_to_do() -> None:
    client = Client()
    client.force_login(make_user("nobody", None))
    response = client.get("/api/v1/health/")
    assert response.status_code == 403
    assert "viewer" in response.json()["detail"]


@pytest.mark.django_db
def test_a_script_authenticates_with_a_token_from_drf_create_token() -> None:
    from io import StringIO

    from django.core.management import call_command

    make_user("ci-bot", "viewer")
    out = StringIO()
    call_command("drf_create_token", "ci-bot", stdout=out)
    token = out.getvalue().split()[2]
    response = Client().get("/api/v1/health/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code in (200, 503)
    assert set(response.json()) == {"registry", "docker", "broker"}
    bad = Client().get("/api/v1/health/", HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.status_code == 401


@pytest.mark.django_db
def test_login_and_logout_by_post(viewer: User) -> None:
    client = Client(enforce_csrf_checks=False)
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    response = client.post("/accounts/login/", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # logout is a POST, never a link
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_state_changes_need_the_csrf_token(viewer: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    assert client.post("/accounts/logout/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_role_groups_survive_a_flush() -> None:
    from django.core.management import call_command

    call_command("flush", "--noinput", verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewer", "operator", "admin"}

"""Failed logins are limited per user name and address together (django-axes), sessions end."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from conftest import PASSWORD, make_user
from core.models import AuditEntry

LAN = "192.168.1.20"
OTHER = "192.168.1.99"


def _login(client: Client, username: str, password: str, ip: str = LAN):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_defaults_are_10_failures_in_15_minutes() -> None:
    assert settings.LOGIN_FAILURE_LIMIT == 10 and settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.django_db
def test_the_pair_is_locked_after_the_limit_even_with_the_right_password(settings: object) -> None:
    make_user("vera", "viewer")
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):  # type: ignore[attr-defined]
        response = _login(client, "vera", "wrong")
        assert response.status_code == 200 and "didn't match" in response.content.decode()
    locked = _login(client, "vera", "wrong")
    assert locked.status_code == 429
    message = locked.content.decode()
    assert "Too many failed logins" in message and "Try again after" in message and "15 minutes" in message
    right = _login(client, "vera", PASSWORD)
    assert right.status_code == 429 and "Try again after" in right.content.decode()
    assert "_auth_user_id" not in client.session
    # Nobody elsewhere locks vera out: the same name from another address still logs in ...
    elsewhere = Client()
    assert _login(elsewhere, "vera", PASSWORD, ip=OTHER).status_code == 302
    # ... and another name from the locked address too.
    make_user("otto", "operator")
    assert _login(Client(), "otto", PASSWORD).status_code == 302
    entries = AuditEntry.objects.filter(action="login-locked-out")
    assert entries.exists()
    first = entries.last()
    assert first.outcome == "refused" and first.ip == LAN and "vera" in first.detail
    assert PASSWORD not in "".join(AuditEntry.objects.values_list("detail", flat=True))


@pytest.mark.django_db
def test_an_admin_unlocks_on_the_admin_site(settings: object) -> None:
    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3  # type: ignore[attr-defined]
    make_user("vera", "viewer")
    for _ in range(3):
        _login(Client(), "vera", "wrong")
    assert _login(Client(), "vera", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@localhost", PASSWORD))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "vera" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="vera")
    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert _login(Client(), "vera", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(settings: object) -> None:
    settings.AXES_FAILURE_LIMIT = 3  # type: ignore[attr-defined]
    make_user("vera", "viewer")
    for _ in range(2):
        _login(Client(), "vera", "wrong")
    assert _login(Client(), "vera", PASSWORD).status_code == 302
    for _ in range(2):
        _login(Client(), "vera", "wrong")
    assert _login(Client(), "vera", PASSWORD).status_code == 302


def test_sessions_last_two_weeks_by_default() -> None:
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600


@pytest.mark.django_db
def test_a_password_change_ends_the_other_sessions() -> None:
    user = make_user("vera", "viewer")
    laptop, phone = Client(), Client()
    assert _login(laptop, "vera", PASSWORD).status_code == 302
    assert _login(phone, "vera", PASSWORD, ip=OTHER).status_code == 302
    assert int(phone.cookies["sessionid"]["max-age"]) == settings.SESSION_COOKIE_AGE
    assert phone.get("/").status_code == 200
    user.set_password("a new and long passphrase")
    user.save()
    response = phone.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]

"""Named API tokens: made once, stored hashed, capped by role, expiring, revocable, throttled."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from conftest import make_user
from core import tokens
from core.models import ApiToken, AuditEntry
from core.tests.throttles import throttle_rates


def _api(token: str, path: str = "/api/v1/audit/", method: str = "get", **extra):  # type: ignore[no-untyped-def]
    extra.setdefault("REMOTE_ADDR", "10.0.0.5")
    return getattr(Client(), method)(path, HTTP_AUTHORIZATION=f"Token {token}", **extra)


@pytest.mark.django_db
def test_the_tokens_page_shows_a_new_token_once_and_keeps_only_its_hash(operator_client: Client) -> None:
    page = operator_client.get("/tokens/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="operator"' in html and '<option value="admin"' not in html
    made = operator_client.post("/tokens/", {"name": "ci-push", "role": "viewer", "expires_in_days": "30"})
    assert made.status_code == 200
    assert made["Cache-Control"].startswith("max-age=0") or "no-store" in made["Cache-Control"]
    raw = made.context["new_token"]
    assert raw.startswith("ra_") and raw in made.content.decode()
    token = ApiToken.objects.get(name="ci-push")
    assert token.key_hash == tokens.digest(raw) and raw not in str(token.__dict__)
    assert token.expires_at is not None and token.get_role_display() == "viewer"
    again = operator_client.get("/tokens/").content.decode()
    assert raw not in again and token.prefix in again and "ci-push" in again
    assert AuditEntry.objects.filter(action="token-created", actor="otto").exists()


@pytest.mark.django_db
def test_a_token_cannot_outrank_its_user(operator) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(operator)
    refused = client.post("/tokens/", {"name": "too-much", "role": "admin"})
    assert refused.status_code == 400 and not ApiToken.objects.exists()
    with pytest.raises(tokens.TokenInvalid) as e:
        tokens.create(operator, "x", "admin")
    assert "cannot be higher than yours (operator)" in e.value.errors["role"]


@pytest.mark.django_db
def test_a_viewer_token_of_an_operator_only_reads(operator) -> None:  # type: ignore[no-untyped-def]
    _, raw = tokens.create(operator, "dashboard", "viewer")
    assert _api(raw).status_code == 200
    refused = _api(raw, "/api/v1/gc/", "post", data={}, content_type="application/json")
    assert refused.status_code == 403 and "operator" in refused.json()["detail"]
    entry = ApiToken.objects.get(name="dashboard")
    assert entry.last_used_at is not None and entry.last_used_ip == "10.0.0.5"


@pytest.mark.django_db
def test_expired_revoked_and_unknown_tokens_get_401(operator_client: Client, operator) -> None:  # type: ignore[no-untyped-def]
    token, raw = tokens.create(operator, "short", "viewer", expires_at=timezone.now() + timedelta(days=1))
    assert _api(raw).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = _api(raw)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    response = operator_client.post(f"/tokens/{token.pk}/revoke/")
    assert response.status_code == 302 and not ApiToken.objects.exists()
    assert _api(raw).status_code == 401
    assert _api("ra_" + "x" * 43).status_code == 401
    assert AuditEntry.objects.filter(action="token-revoked").exists()


@pytest.mark.django_db
def test_nobody_revokes_someone_elses_token(viewer_client: Client, operator) -> None:  # type: ignore[no-untyped-def]
    token, _ = tokens.create(operator, "ci", "operator")
    assert viewer_client.post(f"/tokens/{token.pk}/revoke/").status_code == 404
    assert viewer_client.get(f"/tokens/{token.pk}/revoke/").status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_create_token_command_and_drf_create_token_both_work() -> None:
    make_user("ci-bot", "operator")
    out = StringIO()
    call_command("create_token", "ci-bot", "--name", "ci", "--role", "operator", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("ra_") and _api(raw).status_code == 200
    with pytest.raises(CommandError, match="cannot be higher"):
        call_command("create_token", "ci-bot", "--name", "boss", "--role", "admin", stdout=StringIO())
    with pytest.raises(CommandError, match="already have"):
        call_command("create_token", "ci-bot", "--name", "ci", "--role", "viewer", stdout=StringIO())
    out = StringIO()
    call_command("drf_create_token", "ci-bot", stdout=out)
    assert _api(out.getvalue().split()[2]).status_code == 200
    assert AuditEntry.objects.filter(action="token-created").count() == 1


@pytest.mark.django_db
def test_calls_are_throttled_per_token_and_anonymous_ones_per_address(settings, operator) -> None:  # type: ignore[no-untyped-def]
    with throttle_rates(settings, {"token": "3/minute", "anon": "2/minute"}):
        _, first = tokens.create(operator, "one", "viewer")
        _, second = tokens.create(operator, "two", "viewer")
        assert [_api(first).status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = _api(first)
        assert "available in" in limited.json()["detail"] and "Retry-After" in limited
        assert _api(second).status_code == 200  # each token has its own budget
        anonymous = [Client().get("/api/v1/audit/", REMOTE_ADDR="10.9.9.9").status_code for _ in range(3)]
        assert anonymous == [401, 401, 429]
        bad_tokens = [_api("ra_guess" + str(i), REMOTE_ADDR="10.9.9.8").status_code for i in range(3)]
        assert bad_tokens == [401, 401, 429]
        assert Client().get("/api/v1/audit/", REMOTE_ADDR="10.9.9.7").status_code == 401  # another address


@pytest.mark.django_db
def test_calls_go_through_when_the_throttles_cache_is_down(settings, operator) -> None:  # type: ignore[no-untyped-def]
    _, raw = tokens.create(operator, "ci", "viewer")
    dead = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}  # nothing listens on port 1
    settings.CACHES = {"default": dead}
    assert _api(raw).status_code == 200
    assert Client().get("/api/v1/audit/").status_code == 401


@pytest.mark.django_db
def test_a_token_made_on_the_command_line_is_audited_as_its_owner_via_the_command_line(operator: User) -> None:
    # Issue 25: a token acc-admin created was recorded "via scheduler".
    out = StringIO()
    call_command("create_token", operator.get_username(), "--name", "cli", "--role", "viewer", stdout=out)

    assert out.getvalue().startswith(tokens.PREFIX)
    entry = AuditEntry.objects.get(action="token-created")
    assert (entry.actor, entry.via, entry.user) == ("otto", "command line", operator)

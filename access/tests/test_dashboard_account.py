"""The dashboard's own registry client logs in as robot$dashboard when the registry uses its tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
import pytest

from access import signing, tokens
from access.models import TokenRequest
from inventory import sync
from inventory.models import Tag
from registry_client.client import RegistryClient, RegistryConfig
from testenv import images
from testenv.auth import BearerAuth
from testenv.services import RegistryService

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("team/app", "team/db", "tools/ci")
PRINT = (
    "from django.conf import settings as s; "
    "print(s.REGISTRY_USERNAME, s.REGISTRY_PASSWORD == s.DASHBOARD_REGISTRY_PASSWORD)"
)


def settings_seen(tmp_path: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_USERNAME", "REGISTRY_PASSWORD"))}
    environ.update({"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "registry_admin.settings", **env})
    answer = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {PRINT}"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return answer.stdout.strip()


@pytest.mark.parametrize(
    ("env", "seen"),
    [
        ({"REGISTRY_TOKEN_REALM": "http://nas.lan:8000/auth/token"}, "robot$dashboard True"),
        ({"REGISTRY_TOKEN_REALM": "http://nas.lan:8000/auth/token", "REGISTRY_USERNAME": "bob"}, "bob False"),
        ({}, "False"),  # no user name at all
    ],
)
def test_the_client_uses_the_built_in_account_only_with_the_dashboards_realm(
    tmp_path: Path, env: dict[str, str], seen: str
) -> None:
    assert settings_seen(tmp_path, **env) == seen


def test_a_bad_realm_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        settings_seen(tmp_path, REGISTRY_TOKEN_REALM="nas.lan/auth/token")
    assert "REGISTRY_TOKEN_REALM" in failed.value.stderr


@pytest.mark.django_db(transaction=True)
def test_a_sync_under_token_auth_signs_its_own_tokens_and_asks_the_endpoint_nothing(
    token_registry: RegistryService, settings: Any
) -> None:
    dashboard = BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    digests = {name: images.push_oci_image(token_registry.url, name, "v1", auth=dashboard) for name in NAMES}
    asked_before = TokenRequest.objects.count()
    endpoint_hits: list[str] = []
    real_answer = tokens.answer

    def counting(request: Any) -> Any:
        endpoint_hits.append(request.get_full_path())
        return real_answer(request)

    with mock.patch.object(tokens, "answer", counting):
        figures = sync.reconcile()

    assert endpoint_hits == []
    assert TokenRequest.objects.count() == asked_before
    assert {tag.repository.name: tag.digest for tag in Tag.objects.select_related("repository")} == digests
    assert figures.requests["catalog"] >= 1
    signed = tokens.counters()["dashboard"]
    # One token per scope (the catalog, each repository's pull), each reused until shortly before it expires.
    assert signed is not None and len(NAMES) < signed <= 2 * (len(NAMES) + 1), signed
    again = tokens.counters()["dashboard"]
    sync.reconcile()
    assert tokens.counters()["dashboard"] == again  # cached: the second sync signs nothing new


def test_the_dashboards_token_is_signed_only_for_its_own_realm_and_account(settings: Any) -> None:
    settings.REGISTRY_TOKEN_REALM = "http://nas.lan:8000/auth/token"
    settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = "robot$dashboard", settings.DASHBOARD_REGISTRY_PASSWORD
    challenge = {"realm": settings.REGISTRY_TOKEN_REALM, "service": "registry", "scope": "repository:a/b:pull"}

    signed = tokens.own_token(challenge)

    assert signed is not None and signed[1] == settings.REGISTRY_TOKEN_TTL
    certificate = signing.signing_key().certificate
    claims = jwt.decode(signed[0], certificate.public_key(), algorithms=["RS256"], audience="registry")
    assert claims["sub"] == "robot$dashboard"
    assert claims["access"] == [{"type": "repository", "name": "a/b", "actions": ["pull"]}]
    assert tokens.own_token({**challenge, "realm": "http://elsewhere/token"}) is None
    assert tokens.own_token({**challenge, "service": "other"}) is None
    assert tokens.own_token({**challenge, "scope": "not a scope"}) is None
    settings.REGISTRY_PASSWORD = "wrong"
    assert tokens.own_token(challenge) is None
    settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = "bob", settings.DASHBOARD_REGISTRY_PASSWORD
    assert tokens.own_token(challenge) is None


@pytest.mark.django_db(transaction=True)
def test_a_token_the_registry_refuses_is_asked_from_the_realm_instead(
    token_registry: RegistryService, settings: Any
) -> None:
    """A worker whose key differs from web's (the registry trusts web's certificate): HTTP, as before."""
    images.push_oci_image(
        token_registry.url, "team/app", "v1", auth=BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    )
    asked_before = TokenRequest.objects.filter(account="robot$dashboard").count()
    client = RegistryClient(RegistryConfig.from_settings(), token_provider=lambda challenge: ("not-a-token", 300))

    assert client.tags("team/app") == ["v1"]
    assert TokenRequest.objects.filter(account="robot$dashboard").count() == asked_before + 1

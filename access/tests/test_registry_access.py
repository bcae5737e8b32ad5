"""The registries (v3.1.1 and 2.8.2) take the dashboard's tokens: docker login, push and pull with a
robot, its limits enforced by the registry itself, anonymous pulls, revoked and expired robots,
protected tags, lockouts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from access import services, tokens
from access.models import TokenRequest
from catalog.models import ProtectedTag
from testenv import images
from testenv.auth import BearerAuth
from testenv.services import RegistryService

pytestmark = pytest.mark.django_db(transaction=True)


def _host(registry: RegistryService) -> str:
    return registry.url.split("://", 1)[1]


def docker_login(engine: Any, registry: RegistryService, user: str, secret: str) -> Any:
    return engine.cli(
        "login", _host(registry), "-u", user, "--password-stdin", check=False, input_bytes=secret.encode()
    )


def docker(engine: Any, *args: str) -> Any:
    return engine.cli(*args, check=False)


def token(realm: str, scope: str, auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.get(realm, params={"service": "registry", "scope": scope}, auth=auth, timeout=10)


def test_a_robot_logs_in_with_docker_pushes_and_pulls_within_its_rules(
    token_registry: RegistryService, engine: Any, settings: Any
) -> None:
    robot, secret = services.create_robot("ci", [{"repositories": "ci/**", "actions": ["pull", "push"]}])
    ref = f"{_host(token_registry)}/ci/app"
    images.build_image(engine, ref, "v1")

    login = docker_login(engine, token_registry, robot.login, secret)
    pushed = docker(engine, "push", f"{ref}:v1")
    docker(engine, "rmi", f"{ref}:v1")
    pulled = docker(engine, "pull", f"{ref}:v1")

    assert login.returncode == 0, login.stderr
    assert pushed.returncode == 0, pushed.stderr
    assert pulled.returncode == 0, pulled.stderr
    assert images.manifest_digest(token_registry.url, "ci/app", "v1", auth=BearerAuth(robot.login, secret))
    granted = TokenRequest.objects.filter(account=robot.login, outcome="issued")
    assert any(
        "repository:ci/app:push,pull" in entry.granted or "repository:ci/app:pull,push" in entry.granted
        for entry in granted
    )
    docker(engine, "logout", _host(token_registry))


def test_the_registry_refuses_a_robot_a_push_outside_its_rules(
    token_registry: RegistryService, engine: Any, settings: Any
) -> None:
    robot, secret = services.create_robot("ci", [{"repositories": "ci/**", "actions": ["pull", "push"]}])
    ref = f"{_host(token_registry)}/other/x"
    images.build_image(engine, ref, "v1")

    assert docker_login(engine, token_registry, robot.login, secret).returncode == 0
    pushed = docker(engine, "push", f"{ref}:v1")

    assert pushed.returncode != 0
    assert "denied" in pushed.stderr.lower() or "unauthorized" in pushed.stderr.lower(), pushed.stderr
    assert (
        images.manifest_digest(
            token_registry.url, "other/x", "v1", auth=BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
        )
        is None
    )
    refused = TokenRequest.objects.filter(account=robot.login).exclude(refused=[])
    assert any(any(scope.startswith("repository:other/x:") for scope in entry.refused) for entry in refused)
    docker(engine, "logout", _host(token_registry))


def test_anonymous_pulls_follow_the_rules_and_anonymous_pushes_are_refused(
    token_registry: RegistryService, settings: Any
) -> None:
    dashboard = BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    digest = images.push_oci_image(token_registry.url, "public/base", "v1", auth=dashboard)
    images.push_oci_image(token_registry.url, "private/base", "v1", auth=dashboard)

    before = requests.get(f"{token_registry.url}/v2/public/base/manifests/v1", auth=BearerAuth(), timeout=10)
    services.add_anonymous_rule("public/**")
    public = images.manifest_digest(token_registry.url, "public/base", "v1", auth=BearerAuth())
    private = requests.get(f"{token_registry.url}/v2/private/base/manifests/v1", auth=BearerAuth(), timeout=10)

    assert before.status_code == 401
    assert public == digest
    assert private.status_code == 401
    with pytest.raises(Exception, match=r"401"):
        images.push_oci_image(token_registry.url, "public/base", "v2", auth=BearerAuth())


def test_a_revoked_or_expired_robot_gets_no_token(token_registry: RegistryService, settings: Any) -> None:
    realm = settings.REGISTRY_TOKEN_REALM
    revoked, revoked_secret = services.create_robot("gone", [{"repositories": "**", "actions": ["pull"]}])
    expiring, expiring_secret = services.create_robot("old", [{"repositories": "**", "actions": ["pull"]}])
    assert token(realm, "repository:a/b:pull", (revoked.login, revoked_secret)).status_code == 200

    services.revoke_robot(revoked)
    type(expiring).objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    for robot, secret, outcome in ((revoked, revoked_secret, "revoked"), (expiring, expiring_secret, "expired")):
        answer = token(realm, "repository:a/b:pull", (robot.login, secret))
        assert answer.status_code == 401
        assert answer.json()["detail"].endswith(f"{outcome}.")
        assert TokenRequest.objects.filter(account=robot.login, outcome=outcome).exists()


def test_a_delete_without_a_token_is_401(token_registry: RegistryService, settings: Any) -> None:
    dashboard = BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    digest = images.push_oci_image(token_registry.url, "team/app", "v1", auth=dashboard)

    answer = requests.delete(f"{token_registry.url}/v2/team/app/manifests/{digest}", timeout=10)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith(f'Bearer realm="{settings.REGISTRY_TOKEN_REALM}"')
    assert images.manifest_digest(token_registry.url, "team/app", "v1", auth=dashboard) == digest


def test_a_protected_tags_repository_refuses_a_direct_delete_but_the_dashboard_deletes_another_tag(
    token_registry: RegistryService, settings: Any, operator: Any
) -> None:
    dashboard = BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    kept = images.push_oci_image(token_registry.url, "team/app", "prod", auth=dashboard)
    images.push_oci_image(token_registry.url, "team/app", "dev", auth=dashboard)
    ProtectedTag.objects.create(repositories="team/**", tags="^prod$")
    robot, secret = services.create_robot("cleaner", [{"repositories": "**", "actions": ["pull", "delete"]}])

    direct = requests.delete(
        f"{token_registry.url}/v2/team/app/manifests/{kept}", auth=BearerAuth(robot.login, secret), timeout=10
    )
    client = Client()
    client.force_login(operator)
    through_dashboard = client.delete("/api/v1/repositories/team/app/tags/dev/?force=true")

    assert direct.status_code in (401, 403)
    assert images.manifest_digest(token_registry.url, "team/app", "prod", auth=dashboard) == kept
    assert through_dashboard.status_code == 200, through_dashboard.content
    assert images.manifest_digest(token_registry.url, "team/app", "dev", auth=dashboard) is None
    entry = TokenRequest.objects.filter(account=robot.login).exclude(refused=[]).latest("id")
    assert entry.refused == ["repository:team/app:delete"]


def test_wrong_passwords_lock_the_account_out_from_that_address(token_registry: RegistryService, settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3
    realm = settings.REGISTRY_TOKEN_REALM
    robot, secret = services.create_robot("ci", [{"repositories": "**", "actions": ["pull"]}])

    answers = [token(realm, "repository:a/b:pull", (robot.login, "wrong")).status_code for _ in range(3)]
    right = token(realm, "repository:a/b:pull", (robot.login, secret))

    assert answers == [401, 401, 429]
    assert right.status_code == 429 and "Too many failed logins" in right.json()["detail"]
    assert TokenRequest.objects.filter(account=robot.login, outcome="locked-out").count() == 2


def test_push_here_shows_docker_login_with_a_robot(token_registry: RegistryService, viewer_client: Client) -> None:
    page = viewer_client.get("/catalog/push-here/").content.decode()

    assert 'data-testid="robot-login"' in page
    assert "docker login" in page and "-u 'robot$ci' --password-stdin" in page
    assert "/access/" in page


def test_anonymous_docker_pulls_pass_under_the_rate_and_a_loop_over_it_gets_429(
    token_registry: RegistryService, engine: Any, settings: Any
) -> None:
    settings.REGISTRY_TOKEN_ANON_RATE = "12/minute"
    robot, secret = services.create_robot("ci", [{"repositories": "**", "actions": ["pull"]}])
    pusher, pusher_secret = services.create_robot(
        "pusher", [{"repositories": "public/**", "actions": ["pull", "push"]}]
    )
    ref = f"{_host(token_registry)}/public/app"
    images.build_image(engine, ref, "v1")
    services.add_anonymous_rule("public/**")
    assert docker_login(engine, token_registry, pusher.login, pusher_secret).returncode == 0
    assert docker(engine, "push", f"{ref}:v1").returncode == 0
    docker(engine, "logout", _host(token_registry))
    docker(engine, "rmi", f"{ref}:v1")

    pulled = docker(engine, "pull", f"{ref}:v1")  # anonymous, a few token requests: under the rate
    recorded = TokenRequest.objects.filter(kind="anonymous").count()
    loop = [token(settings.REGISTRY_TOKEN_REALM, "repository:public/app:pull") for _ in range(14)]
    docker(engine, "rmi", f"{ref}:v1")
    refused_pull = docker(engine, "pull", f"{ref}:v1")
    logged_in = token(settings.REGISTRY_TOKEN_REALM, "repository:public/app:pull", (robot.login, secret))

    assert pulled.returncode == 0, pulled.stderr
    assert 0 < recorded < 12
    statuses = [answer.status_code for answer in loop]
    first_refused = statuses.index(429)
    assert first_refused > 0 and set(statuses[:first_refused]) == {200}, statuses
    assert set(statuses[first_refused:]) == {429}, statuses
    limited = loop[-1]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    body = limited.json()
    assert body["errors"][0]["code"] == "TOOMANYREQUESTS" and "REGISTRY_TOKEN_ANON_RATE" in body["detail"]
    # The docker CLI reads the token server's 429 as distribution's error (toomanyrequests).
    assert refused_pull.returncode != 0
    assert "toomanyrequests" in refused_pull.stderr.lower() or "too many" in refused_pull.stderr.lower(), (
        refused_pull.stderr
    )
    # A login is not limited by the anonymous rate; throttled requests are counted, not recorded.
    assert logged_in.status_code == 200
    assert TokenRequest.objects.filter(kind="anonymous").count() == recorded + first_refused
    assert (tokens.counters()["throttled"] or 0) >= 14 - first_refused

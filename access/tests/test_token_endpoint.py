"""GET /auth/token: who gets what, in a JWT the registry can verify; every request recorded."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from cryptography import x509
from django.test import Client

from access import services, signing, tokens
from access.models import TokenRequest
from catalog.models import ProtectedTag
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def ask(*scopes: str, auth: str | None = None, service: str = "registry") -> Any:
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return Client().get("/auth/token", {"service": service, "scope": list(scopes)}, **headers)


def access_of(answer: Any) -> list[dict[str, Any]]:
    """The token's access claim, verified with the certificate its x5c header carries."""
    assert answer.status_code == 200, answer.content
    value = answer.json()["token"]
    header = jwt.get_unverified_header(value)
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert certificate == signing.signing_key().certificate
    claims = jwt.decode(
        value, certificate.public_key(), algorithms=["RS256"], audience="registry", issuer="registry-admin"
    )
    assert claims["exp"] - claims["iat"] == 300
    return claims["access"]


def test_it_grants_each_role_what_it_may(viewer: Any, operator: Any, admin_user: Any) -> None:
    asked = ("repository:team/app:pull,push,delete", "registry:catalog:*")

    by_viewer = access_of(ask(*asked, auth=basic("vera", PASSWORD)))
    by_operator = access_of(ask(*asked, auth=basic("otto", PASSWORD)))
    by_admin = access_of(ask(*asked, auth=basic("ada", PASSWORD)))

    assert by_viewer == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    assert by_operator == [{"type": "repository", "name": "team/app", "actions": ["pull", "push", "delete"]}]
    assert by_admin == [
        {"type": "repository", "name": "team/app", "actions": ["pull", "push", "delete"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]
    entry = TokenRequest.objects.filter(account="vera").get()
    assert entry.kind == "user" and entry.address == "127.0.0.1" and entry.outcome == "issued"
    assert entry.asked == list(asked)
    assert entry.granted == ["repository:team/app:pull"]
    assert entry.refused == ["repository:team/app:push,delete", "registry:catalog:*"]


def test_a_robot_gets_the_union_of_its_rules_and_nothing_else() -> None:
    robot, secret = services.create_robot(
        "ci",
        [
            {"repositories": "ci/**", "actions": ["pull", "push"]},
            {"repositories": "ci/tmp/*", "actions": ["delete"]},
        ],
    )

    granted = access_of(
        ask(
            "repository:ci/tmp/x:pull,push,delete",
            "repository:ci/app:delete,pull",
            "repository:other/x:pull",
            "registry:catalog:*",
            auth=basic(robot.login, secret),
        )
    )

    assert granted == [
        {"type": "repository", "name": "ci/tmp/x", "actions": ["pull", "push", "delete"]},
        {"type": "repository", "name": "ci/app", "actions": ["pull"]},
    ]
    robot.refresh_from_db()
    assert robot.last_used_at is not None and robot.last_used_ip == "127.0.0.1"


def test_docker_login_without_a_scope_gets_an_empty_token_and_a_wrong_password_401(operator: Any) -> None:
    right = ask(auth=basic("otto", PASSWORD))
    wrong = ask(auth=basic("otto", "nope"))
    unknown = ask(auth=basic("robot$nobody", "nope"))

    assert access_of(right) == []
    assert right.json()["expires_in"] == 300 and right.json()["access_token"] == right.json()["token"]
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == 'Basic realm="registry"'
        assert answer.json() == {"detail": "Wrong user name or password."}
    assert list(TokenRequest.objects.values_list("outcome", flat=True).order_by("id")) == [
        "issued",
        "bad-credentials",
        "bad-credentials",
    ]


def test_anonymous_requests_get_only_the_anonymous_pulls() -> None:
    services.add_anonymous_rule("public/**")

    granted = access_of(ask("repository:public/base:pull,push", "repository:private/x:pull"))

    assert granted == [{"type": "repository", "name": "public/base", "actions": ["pull"]}]
    assert TokenRequest.objects.get().kind == "anonymous"


def test_no_token_grants_delete_where_a_protected_tag_is_but_the_dashboards_own_account(
    operator: Any, settings: Any
) -> None:
    ProtectedTag.objects.create(repositories="team/**", tags="^prod$")  # the inventory has not seen team/app

    by_operator = access_of(
        ask("repository:team/app:pull,delete", "repository:other/app:delete", auth=basic("otto", PASSWORD))
    )
    by_dashboard = access_of(
        ask("repository:team/app:delete", auth=basic("robot$dashboard", settings.DASHBOARD_REGISTRY_PASSWORD))
    )

    assert by_operator == [
        {"type": "repository", "name": "team/app", "actions": ["pull"]},
        {"type": "repository", "name": "other/app", "actions": ["delete"]},
    ]
    assert by_dashboard == [{"type": "repository", "name": "team/app", "actions": ["delete"]}]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"service": "elsewhere"}, 'not "elsewhere"'),
        ({"service": "registry", "scope": "repository:team/app"}, "is not a scope"),
        ({"service": "registry", "scope": "repository:team/app:"}, "names no valid actions"),
    ],
)
def test_bad_requests_are_400_in_json(query: dict[str, str], message: str) -> None:
    answer = Client().get("/auth/token", query)

    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert TokenRequest.objects.get().outcome == "bad-request"


def test_only_get_is_answered_and_the_certificate_is_public() -> None:
    posted = Client().post("/auth/token", {"grant_type": "password"})
    certificate = Client().get("/auth/certificate.pem")

    assert posted.status_code == 405
    assert certificate.status_code == 200
    assert x509.load_pem_x509_certificate(certificate.content) == signing.signing_key().certificate


def test_the_certificate_command_makes_the_key_once_and_prints_where(tmp_path: Any, settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.DATA_DIR = tmp_path
    signing.forget()
    try:
        out = StringIO()
        call_command("registry_token_certificate", stdout=out)
        first = (tmp_path / "registry-token" / "key.pem").read_bytes()
        signing.forget()
        pem = StringIO()
        call_command("registry_token_certificate", "--pem", stdout=pem)

        assert out.getvalue().strip() == str(tmp_path / "registry-token" / "cert.pem")
        assert (tmp_path / "registry-token" / "key.pem").read_bytes() == first  # made once, then kept
        assert (tmp_path / "registry-token" / "key.pem").stat().st_mode & 0o777 == 0o600
        assert pem.getvalue().strip() == (tmp_path / "registry-token" / "cert.pem").read_text().strip()
    finally:
        signing.forget()


def test_anonymous_requests_over_the_rate_get_429_and_logins_do_not(settings: Any, operator: Any) -> None:
    settings.REGISTRY_TOKEN_ANON_RATE = "3/minute"
    robot, secret = services.create_robot("ci", [{"repositories": "**", "actions": ["pull"]}])

    answers = [ask("repository:public/a:pull") for _ in range(5)]
    by_robot = [ask("repository:public/a:pull", auth=basic(robot.login, secret)) for _ in range(5)]
    by_user = ask("repository:public/a:pull", auth=basic("otto", PASSWORD))

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    limited = answers[-1]
    assert limited["Content-Type"] == "application/json"
    assert 0 < int(limited["Retry-After"]) <= 60
    body = limited.json()
    assert body["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert body["errors"][0]["detail"] == {"retry_after": int(limited["Retry-After"])}
    assert "REGISTRY_TOKEN_ANON_RATE=3/minute" in body["detail"] and body["errors"][0]["message"] == body["detail"]
    assert {answer.status_code for answer in by_robot} == {200} and by_user.status_code == 200
    # Refused for the rate: counted, not recorded one by one.
    assert TokenRequest.objects.filter(kind="anonymous").count() == 3
    assert tokens.counters()["throttled"] == 2


def test_the_token_requests_page_says_what_is_counted_and_not_listed(viewer_client: Client, settings: Any) -> None:
    settings.REGISTRY_TOKEN_ANON_RATE = "1/minute"
    ask()
    ask()

    page = viewer_client.get("/activity/tokens/").content.decode()

    assert 'data-testid="token-counters"' in page
    assert "its built-in account, in-process, never through this endpoint" in page
    assert "<strong>1</strong>" in page  # one refused for its rate

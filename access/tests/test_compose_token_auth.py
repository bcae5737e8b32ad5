"""The README's steps that turn token auth on in docker-compose.yml, run as written: the sed command
uncomments the six "# token:" lines, and a real registry (v3.1.1, 2.8.2) started with the resulting
REGISTRY_AUTH* settings and certificate mount takes the dashboard's tokens: docker login, push, pull."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from access import services, signing
from deploy.tests import compose
from testenv import images
from testenv.services import start_registry

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VARIABLES = {"REGISTRY_HTTP_SECRET": "s3cret", "REGISTRY_EVENTS_TOKEN": "ev3nts"}
DATA = "/share/Container/registry-admin"  # the compose file's DASHBOARD_DATA


def readme_sed() -> list[str]:
    """The README's command that uncomments the token lines, as argv."""
    found = re.search(r"^\s*(sed -i '[^']+' docker-compose\.yml)\s*$", README.read_text(), re.MULTILINE)
    assert found, "the README names the sed command that turns token auth on"
    return ["sed", "-i", found[1].split("'")[1], "docker-compose.yml"]


def switched_on(tmp_path: Path) -> Path:
    copy = tmp_path / "docker-compose.yml"
    copy.write_text((ROOT / "docker-compose.yml").read_text())
    subprocess.run(readme_sed(), cwd=tmp_path, check=True, timeout=30)
    return copy


def registry_service(path: Path | None = None, **variables: str) -> dict[str, Any]:
    loaded = compose.load(path) if path is not None else compose.load()
    service: dict[str, Any] = compose.interpolate(loaded["services"], VARIABLES | variables)["registry"]
    return service


def test_token_auth_stays_opt_in_and_the_readme_step_turns_on_exactly_its_lines(tmp_path: Path) -> None:
    off = registry_service()
    on_file = switched_on(tmp_path)
    on = registry_service(on_file, REGISTRY_TOKEN_REALM="http://nas.lan:8000/auth/token")
    changed = [
        line
        for line in on_file.read_text().splitlines()
        if line not in (ROOT / "docker-compose.yml").read_text().splitlines()
    ]

    assert not any(name.startswith("REGISTRY_AUTH") for name in off["environment"])
    assert {name: value for name, value in on["environment"].items() if name.startswith("REGISTRY_AUTH")} == {
        "REGISTRY_AUTH": "token",
        "REGISTRY_AUTH_TOKEN_REALM": "http://nas.lan:8000/auth/token",
        "REGISTRY_AUTH_TOKEN_SERVICE": "registry",
        "REGISTRY_AUTH_TOKEN_ISSUER": "registry-admin",
        "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": "/auth/token.pem",
    }
    assert len(changed) == 6  # the five settings and the certificate's mount, nothing else
    assert f"{DATA}/registry-token/cert.pem:/auth/token.pem:ro" in on["volumes"]
    with pytest.raises(compose.ComposeError, match="REGISTRY_TOKEN_REALM"):
        registry_service(on_file)  # on without the realm: compose refuses to start, naming it


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", [3, 2], ids=["v3", "v2"])
def test_a_registry_configured_by_the_readme_steps_takes_the_dashboards_tokens(
    version: int, tmp_path: Path, engine: Any, live_server: Any, settings: Any
) -> None:
    image = engine.registry_images.get(version)
    if image is None:
        pytest.skip(f"no v{version} registry image")
    # web started first with DATA_DIR on the compose file's DASHBOARD_DATA: it made the certificate there.
    settings.DATA_DIR = str(tmp_path / "data")
    signing.forget()
    settings.REGISTRY_TOKEN_REALM = f"{live_server.url}/auth/token"
    signing.signing_key()
    service = registry_service(
        switched_on(tmp_path), REGISTRY_TOKEN_REALM=settings.REGISTRY_TOKEN_REALM, DASHBOARD_DATA=settings.DATA_DIR
    )
    env = {name: value for name, value in service["environment"].items() if name.startswith("REGISTRY_AUTH")}
    mount = next(volume for volume in service["volumes"] if volume.endswith(":/auth/token.pem:ro"))
    certificate = Path(mount.split(":", 1)[0])
    assert certificate == signing.certificate_path() and certificate.is_file()

    registry = start_registry(
        engine, f"compose-token-{uuid.uuid4().hex[:6]}", env=env, files={"/auth/token.pem": certificate}, image=image
    )
    try:
        host = registry.url.split("://", 1)[1]
        robot, secret = services.create_robot("ci", [{"repositories": "ci/**", "actions": ["pull", "push"]}])
        ref = f"{host}/ci/app"
        images.build_image(engine, ref, "v1")

        anonymous = requests.get(f"{registry.url}/v2/", timeout=10)
        login = engine.cli(
            "login", host, "-u", robot.login, "--password-stdin", check=False, input_bytes=secret.encode()
        )
        pushed = engine.cli("push", f"{ref}:v1", check=False)
        engine.cli("rmi", f"{ref}:v1", check=False)
        pulled = engine.cli("pull", f"{ref}:v1", check=False)
        engine.cli("logout", host, check=False)

        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith(f'Bearer realm="{settings.REGISTRY_TOKEN_REALM}"')
        assert login.returncode == 0, login.stderr
        assert pushed.returncode == 0, pushed.stderr
        assert pulled.returncode == 0, pulled.stderr
    finally:
        registry.remove()
        signing.forget()

"""Settings come from the environment and a bad value stops the start, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from registry_admin import env as envmod

ROOT = Path(__file__).resolve().parents[2]


def run_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REGISTRY_URL", "localhost:5000"),
        ("REDIS_URL", "http://localhost:6379"),
        ("DJANGO_DEBUG", "maybe"),
        ("PORT", "eighty"),
        ("REGISTRY_VERIFY_TLS", "/no/such/ca.pem"),
        ("REGISTRY_TIMEOUT", "0"),
        ("DOCKER_HOST", "/var/run/docker.sock"),
        ("API_THROTTLE_RATE", "fast"),
        ("LOGIN_FAILURE_LIMIT", "0"),
        ("DJANGO_HTTPS", "perhaps"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(name: str, value: str, tmp_path: Path) -> None:
    result = run_check(**{name: value, "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_it_generates_and_keeps_the_secret_key_in_the_data_dir(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "DJANGO_SECRET_KEY": ""}
    assert run_check(**env).returncode == 0
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert len(first) > 40
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert run_check(**env).returncode == 0
    assert key_file.read_text() == first


def test_an_empty_variable_means_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``.env.example`` and docker-compose.yml pass the variables they leave open as empty strings."""
    empty = {name: "" for name in ("DATABASE_URL", "REGISTRY_CONTAINER", "REGISTRY_URL", "REDIS_URL", "TZ")}
    result = run_check(**empty, DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    monkeypatch.setenv("REGISTRY_CONTAINER", "")
    assert envmod.env("REGISTRY_CONTAINER", "registry") == "registry"


def test_a_value_may_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("REGISTRY_PASSWORD_FILE", str(secret))
    assert envmod.env("REGISTRY_PASSWORD") == "s3cret"


def test_an_unreadable_file_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_PASSWORD_FILE", "/no/such/file")
    with pytest.raises(ImproperlyConfigured, match="REGISTRY_PASSWORD_FILE"):
        envmod.env("REGISTRY_PASSWORD")


def test_verify_tls_takes_true_false_or_a_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    for raw, expected in (("true", True), ("false", False), ("", True), (str(bundle), str(bundle))):
        monkeypatch.setenv("REGISTRY_VERIFY_TLS", raw)
        assert envmod.env_verify_tls("REGISTRY_VERIFY_TLS") == expected


def test_public_host_defaults_to_the_registry_url_host_and_port(settings: object) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='registry_admin.settings'; "
            "django.setup(); from django.conf import settings as s; print(s.REGISTRY_PUBLIC_HOST)",
        ],
        cwd=ROOT,
        env={**os.environ, "REGISTRY_URL": "https://nas.lan:5443/", "REGISTRY_PUBLIC_HOST": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "nas.lan:5443"

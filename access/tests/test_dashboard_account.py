"""The dashboard's own registry client logs in as robot$dashboard when the registry uses its tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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

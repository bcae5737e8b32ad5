"""Fast checks that the plugin exported the environment the Django settings read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from testenv.services import Services


def test_environment_exported(services: Services) -> None:
    assert os.environ["REGISTRY_URL"] == services.registry_url
    assert os.environ["DOCKER_HOST"].startswith("unix:///tmp/")
    assert os.environ["REGISTRY_CONTAINER"] == "registry"
    assert os.environ["REGISTRY_CONFIG_PATH"] == "/etc/distribution/config.yml"
    assert os.environ["REDIS_URL"].startswith("redis://127.0.0.1:")
    assert requests.get(services.registry_url + "/v2/", timeout=5).json() == {}


def _pytest_without_v3(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest session whose REGISTRY_V3_BINARY points nowhere."""
    root = Path(__file__).resolve().parents[2]
    child_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TESTENV_DATABASE", "CI")}
    child_env.update(REGISTRY_V3_BINARY=str(tmp_path / "no-registry"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q",
         "testenv/tests/test_testenv.py::test_registry_version_in_container"],
        cwd=root, env=child_env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_without_the_v3_binary_the_v3_tests_skip_with_the_reason_and_ci_fails(services: Services, tmp_path) -> None:
    local = _pytest_without_v3(tmp_path)
    assert local.returncode == 0, local.stdout[-3000:]
    assert "1 passed, 1 skipped" in local.stdout  # the 2.8 registry answered, the v3 one skipped
    assert f"no Distribution v3 binary at {tmp_path / 'no-registry'}" in local.stdout
    assert "REGISTRY_V3_BINARY" in local.stdout
    on_ci = _pytest_without_v3(tmp_path, CI="true")
    assert on_ci.returncode == 3, on_ci.stdout[-3000:]
    assert "the v3 registry is required on CI" in on_ci.stdout + on_ci.stderr

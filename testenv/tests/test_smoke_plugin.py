"""Fast checks that the plugin exported the environment the Django settings read."""

from __future__ import annotations

import os

import requests

from testenv.services import Services


def test_environment_exported(services: Services) -> None:
    assert os.environ["REGISTRY_URL"] == services.registry_url
    assert os.environ["DOCKER_HOST"].startswith("unix:///tmp/")
    assert os.environ["REGISTRY_CONTAINER"] == "registry"
    assert os.environ["REGISTRY_CONFIG_PATH"] == "/etc/distribution/config.yml"
    assert os.environ["REDIS_URL"].startswith("redis://127.0.0.1:")
    assert requests.get(services.registry_url + "/v2/", timeout=5).json() == {}

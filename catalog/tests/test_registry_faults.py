"""The registry stopped or silent for real: 503/504 naming REGISTRY_URL (and REGISTRY_TIMEOUT), never
500; the repository list the dashboard already knows is still served, marked stale."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from inventory import sync
from testenv import images
from testenv.services import RegistryService, start_registry


@pytest.fixture
def own_registry(services: Any, settings: Any) -> Iterator[RegistryService]:
    """A registry of this test's own, so stopping it leaves the session's registry up."""
    registry = start_registry(services.engine, name=f"fault-{uuid.uuid4().hex[:6]}")
    settings.REGISTRY_URL = registry.url
    try:
        yield registry
    finally:
        registry.remove()


def test_a_stopped_registry_leaves_the_inventory_readable_and_an_unknown_repository_answers_503(
    own_registry: RegistryService, viewer_client: Client
) -> None:
    images.push_oci_image(own_registry.url, "team/app", "1.0")
    sync.reconcile()
    assert [r["name"] for r in viewer_client.get("/api/v1/repositories/").json()["results"]] == ["team/app"]

    own_registry.stop()
    tags = viewer_client.get("/api/v1/repositories/team/app/tags/")
    assert tags.status_code == 200 and [r["name"] for r in tags.json()["results"]] == ["1.0"]
    unknown = viewer_client.get("/api/v1/repositories/team/other/tags/")
    assert unknown.status_code == 503
    assert own_registry.url in unknown.json()["detail"] and "REGISTRY_URL" in unknown.json()["detail"]
    assert "Connection refused" in unknown.json()["detail"]
    page = viewer_client.get("/catalog/")
    assert page.status_code == 200 and "team/app" in page.content.decode()
    assert viewer_client.get("/catalog/r/team/app/").status_code == 200
    tag_page = viewer_client.get("/catalog/r/team/other/")
    assert tag_page.status_code == 503 and "REGISTRY_URL" in tag_page.content.decode()
    for url in ("/", "/maintenance/", "/audit/"):  # what does not need the registry keeps working
        assert viewer_client.get(url).status_code == 200, url
    health = viewer_client.get("/api/v1/health/")
    assert health.status_code == 503 and own_registry.url in health.json()["registry"]["detail"]

    own_registry.container.start()
    deadline = time.monotonic() + 30
    while viewer_client.get("/api/v1/repositories/team/other/tags/").status_code != 404:
        assert time.monotonic() < deadline, "the registry did not come back"
        time.sleep(0.5)


def test_a_silent_registry_answers_504_naming_registry_timeout(
    silent_registry: str, viewer_client: Client, settings: Any
) -> None:
    settings.REGISTRY_URL = silent_registry
    settings.REGISTRY_TIMEOUT = 1
    assert viewer_client.get("/api/v1/repositories/").status_code == 200  # the inventory's list
    for url in ("/api/v1/repositories/team/app/tags/", "/api/v1/repositories/team/app/tags/1.0/"):
        answer = viewer_client.get(url)
        assert answer.status_code == 504, (url, answer.content[:300])
        detail = answer.json()["detail"]
        assert silent_registry in detail and "REGISTRY_URL" in detail and "REGISTRY_TIMEOUT" in detail
        assert "within 1 s" in detail
    page = viewer_client.get("/catalog/r/team/app/")
    assert page.status_code == 504 and "REGISTRY_TIMEOUT" in page.content.decode()

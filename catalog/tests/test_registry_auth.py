"""Browsing registries behind htpasswd (basic) auth and behind bearer tokens, for real."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from inventory import sync
from testenv import auth, images
from testenv.services import RegistryService


@pytest.fixture
def extra_registries() -> Iterator[list[RegistryService]]:
    started: list[RegistryService] = []
    yield started
    for registry in started:
        registry.remove()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_it_browses_a_registry_behind_basic_auth(
    viewer_client: Client, services: Any, settings: Any, extra_registries: list[RegistryService]
) -> None:
    registry = auth.start_htpasswd_registry(services.engine, _name("catalog-basic"), {"alice": "s3cret"})
    extra_registries.append(registry)
    digest = images.push_oci_image(registry.url, "private/app", "v1", auth=("alice", "s3cret"))
    settings.REGISTRY_URL, settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = registry.url, "alice", "s3cret"

    sync.reconcile()
    repositories = viewer_client.get("/api/v1/repositories/").json()["results"]
    rows = viewer_client.get("/api/v1/repositories/private/app/tags/").json()["results"]

    assert [{k: v for k, v in repo.items() if k != "size"} for repo in repositories] == [
        {"name": "private/app", "tag_count": 1, "last_pushed": None, "pull_count": 0, "pulls_since": None}
    ]
    assert repositories[0]["size"] > 0
    assert rows[0]["digest"] == digest and rows[0]["platforms"] == ["linux/amd64"]


def test_wrong_basic_credentials_say_which_settings_to_check(
    viewer_client: Client, services: Any, settings: Any, extra_registries: list[RegistryService]
) -> None:
    registry = auth.start_htpasswd_registry(services.engine, _name("catalog-basic-bad"), {"alice": "s3cret"})
    extra_registries.append(registry)
    settings.REGISTRY_URL, settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = registry.url, "alice", "wrong"

    answer = viewer_client.get("/api/v1/repositories/private/app/tags/")
    page = viewer_client.get("/catalog/r/private/app/")

    assert answer.status_code == 502
    assert "REGISTRY_USERNAME and REGISTRY_PASSWORD" in answer.json()["detail"]
    assert registry.url in answer.json()["detail"]
    assert page.status_code == 502 and "REGISTRY_USERNAME" in page.content.decode()


def test_it_browses_a_registry_behind_bearer_tokens_and_reuses_them(
    viewer_client: Client, services: Any, settings: Any, extra_registries: list[RegistryService]
) -> None:
    server = auth.TokenServer(users={"bob": "pw"})
    try:
        registry = auth.start_token_registry(services.engine, _name("catalog-token"), server)
        extra_registries.append(registry)
        index_digest, _children = images.push_oci_index(
            registry.url, "tok/app", "v1", auth=auth.BearerAuth("bob", "pw")
        )
        settings.REGISTRY_URL, settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = registry.url, "bob", "pw"
        server.requests.clear()

        sync.reconcile()
        repositories = viewer_client.get("/api/v1/repositories/").json()["results"]
        detail = viewer_client.get("/api/v1/repositories/tok/app/tags/v1/").json()
        again = viewer_client.get(f"/api/v1/repositories/tok/app/manifests/{index_digest}/")

        assert [{k: v for k, v in repo.items() if k != "size"} for repo in repositories] == [
            {"name": "tok/app", "tag_count": 1, "last_pushed": None, "pull_count": 0, "pulls_since": None}
        ]
        assert detail["digest"] == index_digest and detail["platforms"] == ["linux/amd64", "linux/arm64/v8"]
        assert again.status_code == 200
        assert all(request["user"] == "bob" for request in server.requests)
        # One token per scope (the catalog, tok/app pull), cached until it expires.
        scopes = [request["query"].get("scope", [""])[0] for request in server.requests]
        assert sorted(scopes) == ["registry:catalog:*", "repository:tok/app:pull"]
    finally:
        server.stop()


def test_a_token_server_refusing_our_credentials_is_reported(
    viewer_client: Client, services: Any, settings: Any, extra_registries: list[RegistryService]
) -> None:
    server = auth.TokenServer(users={"bob": "pw"})
    try:
        registry = auth.start_token_registry(services.engine, _name("catalog-token-bad"), server)
        extra_registries.append(registry)
        settings.REGISTRY_URL, settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = registry.url, "bob", "nope"

        answer = viewer_client.get("/api/v1/repositories/tok/app/tags/")

        assert answer.status_code == 502
        assert server.realm in answer.json()["detail"] and "REGISTRY_PASSWORD" in answer.json()["detail"]
    finally:
        server.stop()

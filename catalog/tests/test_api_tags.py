"""GET /api/v1/repositories/{name}/tags/, .../tags/{tag}/ and .../manifests/{digest}/ on real content."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.test import Client

from testenv import images


def _tags(client: Client, name: str, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/repositories/{name}/tags/", params)
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def test_it_describes_docker_v2_images_pushed_by_docker(viewer_client: Client, services: Any, repo_prefix: str) -> None:
    name = f"{repo_prefix}/team/app"
    digest = images.push_docker_image(services.engine, services.registry_url, name, "1.0", extra_tags=["latest"])

    rows = _tags(viewer_client, name)

    assert [row["name"] for row in rows] == ["1.0", "latest"]
    row = rows[0]
    assert row["digest"] == digest and rows[1]["digest"] == digest
    assert row["media_type"] == images.DOCKER_MANIFEST and row["kind"] == "image"
    assert row["platforms"] == ["linux/amd64"]
    assert row["size"] > 1000  # busybox layer + config
    assert dt.datetime.fromisoformat(row["created"]) > dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


def test_it_sums_config_and_layers_for_an_oci_image(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    layers = [images.make_layer(images.unique_files("a")), images.make_layer(images.unique_files("b"))]
    images.push_oci_image(registry.url, repo_prefix, "v1", layers=layers, created="2023-05-06T07:08:09.123456789Z")
    config_size = images.get_manifest(registry.url, repo_prefix, "v1")[0]
    manifest = __import__("json").loads(config_size)
    expected = manifest["config"]["size"] + sum(len(layer.blob) for layer in layers)

    detail = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/v1/").json()

    assert detail["size"] == expected
    assert detail["media_type"] == images.OCI_MANIFEST
    assert detail["created"] == "2023-05-06T07:08:09.123456+00:00"
    assert [layer["digest"] for layer in detail["layers"]] == [layer.digest for layer in layers]
    assert detail["layers"][0] == {
        "digest": layers[0].digest,
        "size": len(layers[0].blob),
        "media_type": images.OCI_LAYER,
    }
    assert detail["config"]["cmd"] == ["sh"] and detail["config"]["os"] == "linux"
    assert detail["config"]["history"][0]["created_by"] == "testenv layer 0"


def test_an_index_lists_its_platforms_without_attestations(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    index_digest, children = images.push_oci_index(registry.url, repo_prefix, "multi", with_attestation=True)

    row = _tags(viewer_client, repo_prefix)[0]
    detail = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/multi/").json()

    assert row["digest"] == index_digest and row["kind"] == "index"
    assert row["platforms"] == ["linux/amd64", "linux/arm64/v8"]
    assert [m["platform"] for m in detail["manifests"]] == ["linux/amd64", "linux/arm64/v8"]
    assert [m["digest"] for m in detail["manifests"]] == [children["linux/amd64"], children["linux/arm64/v8"]]
    assert detail["size"] == sum(m["size"] for m in detail["manifests"])  # no shared layers here
    child = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/manifests/{children['linux/arm64/v8']}/").json()
    assert child["platforms"] == ["linux/arm64/v8"] and child["name"] is None
    assert child["size"] == detail["manifests"][1]["size"]


def test_an_image_without_a_date_has_a_blank_created(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    images.push_oci_image(registry.url, repo_prefix, "undated", created=None)
    assert _tags(viewer_client, repo_prefix)[0]["created"] is None
    assert viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/undated/").json()["created"] is None


def test_signature_tags_are_listed_under_their_image(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "1.0")
    signature = f"sha256-{digest.split(':')[1]}.sig"
    images.push_oci_image(registry.url, repo_prefix, signature)
    images.push_oci_image(registry.url, repo_prefix, f"sha256-{'0' * 64}.att")  # its image is not here

    rows = _tags(viewer_client, repo_prefix)

    assert [row["name"] for row in rows] == ["1.0"]
    assert rows[0]["signatures"] == [{"tag": signature, "kind": "sig"}]


def test_it_sorts_by_size_and_created(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    images.push_oci_image(registry.url, repo_prefix, "small", layers=[b"x"], created="2021-01-01T00:00:00Z")
    images.push_oci_image(registry.url, repo_prefix, "big", layers=[os.urandom(50_000)], created="2022-01-01T00:00:00Z")
    images.push_oci_image(registry.url, repo_prefix, "nodate", layers=[os.urandom(5_000)], created=None)

    assert [r["name"] for r in _tags(viewer_client, repo_prefix, ordering="-size")] == ["big", "nodate", "small"]
    assert [r["name"] for r in _tags(viewer_client, repo_prefix, ordering="created")] == ["small", "big", "nodate"]
    assert [r["name"] for r in _tags(viewer_client, repo_prefix, ordering="-name")] == ["small", "nodate", "big"]
    assert viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/", {"ordering": "bogus"}).status_code == 400


def test_it_pages_tags(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    digest = images.push_oci_image(registry.url, repo_prefix, "a")
    for tag in ("b", "c"):
        images.tag_existing(registry.url, repo_prefix, tag, digest)
    first = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/", {"page_size": 2}).json()
    assert first["count"] == 3 and [r["name"] for r in first["results"]] == ["a", "b"]
    assert [r["name"] for r in viewer_client.get(first["next"]).json()["results"]] == ["c"]


def test_bad_names_tags_and_digests_get_400_before_any_registry_request(
    viewer_client: Client, monkeypatch: Any
) -> None:
    from registry_client.client import RegistryClient

    def no_requests(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the registry was asked")

    monkeypatch.setattr(RegistryClient, "request", no_requests)
    for url in (
        "/api/v1/repositories/Team/App/tags/",
        "/api/v1/repositories/team//app/tags/",
        "/api/v1/repositories/team/app-/tags/",
        "/api/v1/repositories/team/app/tags/-bad/",
        "/api/v1/repositories/team/app/tags/" + "x" * 129 + "/",
        "/api/v1/repositories/team/app/manifests/sha256:abc/",
        "/api/v1/repositories/team/app/manifests/latest/",
    ):
        answer = viewer_client.get(url)
        assert answer.status_code == 400, url
        assert answer.json()["detail"]


def test_unknown_repositories_and_tags_get_404(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    images.push_oci_image(registry.url, repo_prefix, "1.0")
    missing_repo = viewer_client.get(f"/api/v1/repositories/{repo_prefix}-nope/tags/")
    missing_tag = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/tags/2.0/")
    missing_digest = viewer_client.get(f"/api/v1/repositories/{repo_prefix}/manifests/sha256:{'1' * 64}/")
    assert missing_repo.status_code == 404 and "does not exist" in missing_repo.json()["detail"]
    assert missing_tag.status_code == 404 and f"{repo_prefix}:2.0" in missing_tag.json()["detail"]
    assert missing_digest.status_code == 404


def test_a_docker_manifest_list_is_an_index_too(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    digest, _children = images.push_oci_index(
        registry.url,
        repo_prefix,
        "list",
        platforms=[("linux", "amd64", None), ("linux", "arm", "v7")],
        media_type=images.DOCKER_LIST,
    )
    row = _tags(viewer_client, repo_prefix)[0]
    assert row["digest"] == digest and row["media_type"] == images.DOCKER_LIST
    assert row["kind"] == "index" and row["platforms"] == ["linux/amd64", "linux/arm/v7"]


def test_users_without_a_role_are_refused(client: Client, services: Any, django_user_model: Any) -> None:
    from conftest import make_user

    client.force_login(make_user("nobody", None))
    answer = client.get("/api/v1/repositories/")
    assert answer.status_code == 403 and "viewer role" in answer.json()["detail"]


def test_a_repository_whose_tags_were_all_deleted_lists_no_tags(
    viewer_client: Client, versioned_registry: Any, repo_prefix: str
) -> None:
    """It stays in _catalog (distribution#2314); tags/list then says "tags": null, on 3.1.1 too
    (seen here; REGISTRY-FACTS expected [] from v3)."""
    import requests

    url, repo = versioned_registry.url, f"{repo_prefix}/emptied"
    digest = images.push_oci_image(url, repo, "1.0")
    assert requests.delete(f"{url}/v2/{repo}/manifests/{digest}", timeout=5).status_code == 202
    raw = requests.get(f"{url}/v2/{repo}/tags/list", timeout=5)
    assert raw.status_code == 200
    assert raw.json()["tags"] is None
    from registry_client.client import get_client

    assert repo in get_client().catalog()  # every page of _catalog
    response = viewer_client.get(f"/api/v1/repositories/{repo}/tags/")
    assert response.status_code == 200
    assert response.json()["results"] == []

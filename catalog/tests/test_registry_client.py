"""The registry client against the real test registry: pagination, digests, errors."""

import pytest

from catalog.registry import (
    MANIFEST_ACCEPT,
    RegistryClient,
    RegistryConfig,
    RegistryNotFound,
    RegistryUnavailable,
    _token_key,
    get_client,
)
from testenv import images


@pytest.fixture
def client(services: object) -> RegistryClient:
    return get_client()


def test_it_sends_all_four_manifest_types() -> None:
    for media_type in (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ):
        assert media_type in MANIFEST_ACCEPT


def test_it_resolves_an_oci_index_to_its_own_digest(client: RegistryClient, registry: object) -> None:
    index_digest, _children = images.push_oci_index(registry.url, "client/multi", "v1")  # type: ignore[attr-defined]
    ref = client.head_manifest("client/multi", "v1")
    assert ref.digest == index_digest
    assert ref.media_type == "application/vnd.oci.image.index.v1+json"
    manifest = client.get_manifest("client/multi", "v1")
    assert manifest.is_index and manifest.digest == index_digest


def test_unknown_repositories_and_tags_are_not_found(client: RegistryClient) -> None:
    with pytest.raises(RegistryNotFound, match="no/such"):
        client.tags("no/such")
    with pytest.raises(RegistryNotFound):
        client.head_manifest("no/such", "latest")


def test_an_unreachable_registry_says_so() -> None:
    client = RegistryClient(RegistryConfig("http://127.0.0.1:9", "", "", True, 2.0))
    with pytest.raises(RegistryUnavailable, match=r"Cannot connect to the registry at http://127.0.0.1:9"):
        client.ping()


def test_token_keys_separate_repositories_and_access() -> None:
    assert _token_key("GET", "/v2/_catalog?n=1000") == "catalog"
    assert _token_key("GET", "http://h:5000/v2/team/app/tags/list?n=10") == "team/app:pull"
    assert _token_key("HEAD", "/v2/team/app/manifests/1.0") == "team/app:pull"
    assert _token_key("DELETE", "/v2/team/app/manifests/sha256:ab") == "team/app:write"


def test_threads_share_one_client_and_its_connection_pool(client: RegistryClient) -> None:
    import threading

    seen: list[RegistryClient] = []
    workers = [threading.Thread(target=lambda: seen.append(get_client())) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(other is client for other in seen)

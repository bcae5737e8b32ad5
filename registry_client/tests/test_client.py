"""The registry client against the real test registry: pagination, digests, errors."""

import pytest

from registry_client.client import (
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


@pytest.mark.parametrize("count", [10, 12])
def test_tags_follow_every_page_including_v3s_empty_last_one(
    versioned_registry: object, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    """v3 pages tags/list by ``n`` with a Link; when the tags fill the pages exactly, 3.1.1's last
    Link leads to a page answering ``"tags": null`` (REGISTRY-FACTS). 2.8 ignores ``n``.

    The page size is 5 here instead of 1000 so that a few tags show the same answers.
    """
    import requests

    from registry_client import client as registry_module

    url = versioned_registry.url  # type: ignore[attr-defined]
    repo = f"client/paged-{count}-{versioned_registry.major}"  # type: ignore[attr-defined]
    digest = images.push_oci_image(url, repo, "t00")
    for i in range(1, count):
        images.tag_existing(url, repo, f"t{i:02d}", digest)
    expected = [f"t{i:02d}" for i in range(count)]

    # What the registry itself answers, page by page.
    pages, path = [], f"/v2/{repo}/tags/list?n=5"
    while path and len(pages) < 10:
        response = requests.get(url + path, timeout=5)
        assert response.status_code == 200
        pages.append(response.json()["tags"])
        link = response.links.get("next", {}).get("url")
        path = link if not link or link.startswith("/") else "/" + link
    if versioned_registry.major == 3:  # type: ignore[attr-defined]
        full = [expected[i : i + 5] for i in range(0, count, 5)]
        assert pages == ([*full, None] if count % 5 == 0 else full)
    else:
        assert len(pages) == 1 and sorted(pages[0]) == expected

    monkeypatch.setattr(registry_module, "MAX_PAGE", 5)
    client = get_client()
    seen: list[str] = []
    real = RegistryClient.request

    def spying(self: RegistryClient, method: str, path: str, **kwargs: object) -> object:
        seen.append(path)
        return real(self, method, path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RegistryClient, "request", spying)
    assert sorted(client.tags(repo)) == expected
    assert len(seen) == len(pages)

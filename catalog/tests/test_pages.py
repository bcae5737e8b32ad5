"""The catalog pages: repositories, a repository's tags, an image; escaping and error banners."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from benchmarks.seed import seed_repositories
from catalog.tests.conftest import read_into_inventory
from registry_client.client import get_client
from testenv import images


def test_the_catalog_groups_repositories_by_namespace_with_tag_counts(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    seed_repositories(registry.url, [f"{repo_prefix}/api", f"{repo_prefix}/web"])
    read_into_inventory(f"{repo_prefix}/api", f"{repo_prefix}/web")
    page = viewer_client.get("/catalog/", {"q": repo_prefix})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-namespace="{repo_prefix}"' in html
    assert f'href="/catalog/r/{repo_prefix}/api/"' in html and f'href="/catalog/r/{repo_prefix}/web/"' in html
    assert "nav" in html and ">Catalog</a>" in html


def test_the_catalog_hides_empty_repositories_unless_asked(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    digest = images.push_oci_image(registry.url, f"{repo_prefix}/gone", "1")
    get_client().delete_manifest(f"{repo_prefix}/gone", digest)
    images.push_oci_image(registry.url, f"{repo_prefix}/kept", "1")
    read_into_inventory(f"{repo_prefix}/gone", f"{repo_prefix}/kept")

    hidden = viewer_client.get("/catalog/", {"q": repo_prefix}).content.decode()
    shown = viewer_client.get("/catalog/", {"q": repo_prefix, "empty": "1"}).content.decode()

    assert f"{repo_prefix}/kept" in hidden and f"{repo_prefix}/gone" not in hidden
    assert f"{repo_prefix}/gone" in shown


def test_the_search_box_answers_htmx_with_the_list_alone(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    seed_repositories(registry.url, [f"{repo_prefix}/found"])
    read_into_inventory(f"{repo_prefix}/found")
    fragment = viewer_client.get("/catalog/", {"q": f"{repo_prefix}/fo"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert f"{repo_prefix}/found" in html and "<html" not in html


def test_the_tag_table_shows_size_date_platforms_and_sorts(
    viewer_client: Client, registry: Any, repo_prefix: str
) -> None:
    images.push_oci_image(registry.url, repo_prefix, "old", created="2020-02-03T04:05:06Z", layers=[b"a"])
    images.push_oci_index(registry.url, repo_prefix, "multi", with_attestation=True)

    html = viewer_client.get(f"/catalog/r/{repo_prefix}/", {"sort": "-created"}).content.decode()

    assert html.index('data-tag="multi"') < html.index('data-tag="old"')
    assert 'title="2020-02-03 04:05:06 UTC"' in html
    assert "linux/amd64, linux/arm64/v8" in html and "unknown/unknown" not in html
    assert "bytes" in html  # exact size on hover
    filtered = viewer_client.get(f"/catalog/r/{repo_prefix}/", {"q": "mul"}, headers={"HX-Request": "true"})
    assert 'data-tag="multi"' in filtered.content.decode() and 'data-tag="old"' not in filtered.content.decode()


def test_the_image_page_escapes_labels_and_shows_the_pull_command(
    viewer_client: Client, registry: Any, repo_prefix: str, settings: Any
) -> None:
    settings.REGISTRY_PUBLIC_HOST = "nas.lan:5000"
    name = f"{repo_prefix}/app"
    images.push_oci_image(
        registry.url,
        name,
        "1.0",
        labels={"evil": "<script>alert(1)</script>", "org.opencontainers.image.authors": "a&b"},
        entrypoint=["/bin/app"],
        env=["MODE=<b>prod</b>"],
        exposed_ports=["8080/tcp"],
    )

    html = viewer_client.get(f"/catalog/r/{name}/-/t/1.0/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "MODE=&lt;b&gt;prod&lt;/b&gt;" in html
    assert f"docker pull nas.lan:5000/{name}:1.0" in html
    assert "/bin/app" in html and "8080/tcp" in html and "testenv layer 0" in html


def test_an_index_page_links_each_platform_to_its_image(viewer_client: Client, registry: Any, repo_prefix: str) -> None:
    _digest, children = images.push_oci_index(registry.url, repo_prefix, "multi")
    html = viewer_client.get(f"/catalog/r/{repo_prefix}/-/t/multi/").content.decode()
    child = children["linux/arm64/v8"]
    assert f'href="/catalog/r/{repo_prefix}/-/m/{child}/"' in html
    child_page = viewer_client.get(f"/catalog/r/{repo_prefix}/-/m/{child}/")
    assert child_page.status_code == 200 and f"@{child}" in child_page.content.decode()


@pytest.mark.parametrize(
    "url", ["/catalog/r/Bad/", "/catalog/r/ok/-/t/.bad/", "/catalog/r/ok/-/m/sha256:xyz/", "/catalog/r/a//b/"]
)
def test_bad_references_get_400_with_a_banner(viewer_client: Client, url: str) -> None:
    page = viewer_client.get(url)
    assert page.status_code == 400
    assert 'data-testid="registry-banner"' in page.content.decode()


def test_unknown_repositories_get_404_with_a_banner(viewer_client: Client, services: Any, repo_prefix: str) -> None:
    page = viewer_client.get(f"/catalog/r/{repo_prefix}/nothing/")
    assert page.status_code == 404 and "does not exist" in page.content.decode()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    assert client.get("/catalog/").status_code == 302


def test_the_fast_link_tags_build_the_same_urls_as_reverse() -> None:
    from django.urls import reverse

    from catalog.templatetags.catalog import image_url, manifest_url, tags_url

    digest = "sha256:" + "ab" * 32
    assert tags_url("team/app") == reverse("catalog:tags", args=["team/app"])
    assert image_url("team/app", "1.0_rc-1") == reverse("catalog:image", args=["team/app", "1.0_rc-1"])
    assert manifest_url("team/app", digest) == reverse("catalog:manifest", args=["team/app", digest])

"""The htmx delete dialogs: what goes is said before it goes, then done on confirmation."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client

from catalog import deletion
from registry_client.client import ManifestRef
from testenv import images
from testenv.services import RegistryService

HTMX = {"HX-Request": "true"}


@pytest.fixture
def repo(services: Any) -> str:
    return f"dialogtest/{uuid.uuid4().hex[:10]}"


def exists(registry: RegistryService, repo: str, reference: str) -> bool:
    return images.manifest_digest(registry.url, repo, reference) is not None


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def fingerprint(response: Any) -> str:
    return re.search(r'name="confirm" value="([0-9a-f]+)"', response.content.decode())[1]  # type: ignore[index]


@pytest.fixture
def pair(registry: RegistryService, repo: str) -> str:
    digest = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", digest)
    return digest


@pytest.mark.django_db
def test_a_shared_tag_is_refused_then_the_forced_delete_says_what_goes(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    pair = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", pair)
    url = f"/catalog/r/{repo}/-/delete/"
    preview = operator_client.post(url, {"tags": ["1.0"]}, headers=HTMX)
    assert preview.status_code == 200
    if registry.major == 3:
        # registry:3 deletes the tag alone: nothing shared to refuse, no name to type.
        assert "Removes tag 1.0 only; its manifest and other tags stay" in text(preview)
        assert 'name="typed_name"' not in preview.content.decode()
        done = operator_client.post(url, {"tags": ["1.0"], "confirm": fingerprint(preview)}, headers=HTMX)
        assert "Removed tag 1.0 only" in text(done)
        assert not exists(registry, repo, "1.0")
        assert images.manifest_digest(registry.url, repo, "stable") == pair
        return
    assert "Keeps tag 1.0" in text(preview) and "stable" in text(preview)
    assert 'data-testid="delete-confirm"' not in preview.content.decode()

    forced = operator_client.post(url, {"tags": ["1.0"], "force": "1"}, headers=HTMX)
    assert re.search(r"Removes manifest sha256:\w+… and with it tags 1.0, stable", text(forced))
    assert f'title="{pair}"' in forced.content.decode()
    assert 'name="typed_name"' in forced.content.decode()

    untyped = operator_client.post(url, {"tags": ["1.0"], "force": "1", "confirm": fingerprint(forced)}, headers=HTMX)
    assert f"Type the repository name {repo}" in text(untyped)
    assert exists(registry, repo, "1.0")

    done = operator_client.post(
        url, {"tags": ["1.0"], "force": "1", "confirm": fingerprint(forced), "typed_name": repo}, headers=HTMX
    )
    assert "Removed manifest" in text(done) and "next garbage collection" in text(done)
    assert 'href="/maintenance/"' in done.content.decode()
    assert "repository-changed" in done["HX-Trigger"]
    assert not exists(registry, repo, "1.0") and not exists(registry, repo, "stable")


@pytest.mark.django_db
def test_a_tag_alone_goes_without_typing_and_says_tag_only(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    images.push_oci_image(registry.url, repo, "1.0")
    url = f"/catalog/r/{repo}/-/delete/"
    preview = operator_client.post(url, {"tags": ["1.0"]}, headers=HTMX)
    assert "Removes tag 1.0 only" in text(preview)
    assert 'name="typed_name"' not in preview.content.decode()
    done = operator_client.post(url, {"tags": ["1.0"], "confirm": fingerprint(preview)}, headers=HTMX)
    assert "Removed tag 1.0 only" in text(done)
    assert not exists(registry, repo, "1.0")


@pytest.mark.django_db
def test_a_stale_preview_is_not_run(operator_client: Client, versioned_registry: RegistryService, repo: str) -> None:
    registry = versioned_registry
    digest = images.push_oci_image(registry.url, repo, "1.0")
    url = f"/catalog/r/{repo}/-/delete/"
    preview = operator_client.post(url, {"tags": ["1.0"]}, headers=HTMX)
    if registry.major == 3:
        # A tag delete on registry:3 removes the same whatever else is tagged; it changes when
        # the tag is pushed again (another manifest) meanwhile.
        newer = images.push_oci_image(registry.url, repo, "1.0", labels={"rebuilt": "yes"})
        assert newer != digest
        answer = operator_client.post(url, {"tags": ["1.0"], "confirm": fingerprint(preview)}, headers=HTMX)
        assert answer.status_code == 409 and "The registry changed since the preview" in text(answer)
        assert images.manifest_digest(registry.url, repo, "1.0") == newer
        return
    images.tag_existing(registry.url, repo, "stable", digest)  # someone tags it meanwhile
    answer = operator_client.post(url, {"tags": ["1.0"], "confirm": fingerprint(preview)}, headers=HTMX)
    assert answer.status_code == 409 and "The registry changed since the preview" in text(answer)
    assert "Keeps tag 1.0" in text(answer)
    assert exists(registry, repo, "1.0") and exists(registry, repo, "stable")


@pytest.mark.django_db
def test_the_selection_preview_groups_tags_of_one_manifest(
    operator_client: Client, versioned_registry: RegistryService, repo: str
) -> None:
    registry = versioned_registry
    pair = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", pair)
    images.push_oci_image(registry.url, repo, "2.0")
    preview = operator_client.post(f"/catalog/r/{repo}/-/delete/", {"tags": ["stable", "1.0", "2.0"]}, headers=HTMX)
    body = text(preview)
    if registry.major == 3:
        # registry:3 removes the tags alone: 1.0 and stable in one line, their manifest stays.
        assert "and with it" not in body and "Removes manifest" not in body
        # Both sentences are in the page; the pre-ticked "Also delete the manifests these tags leave
        # untagged" box shows the first (the browser test checks which one shows).
        assert re.search(
            r"Removes 2 tags and their manifest sha256:\w+…, which no other tag points to: "
            r"(stable,? 1\.0|1\.0,? stable)\.",
            body,
        )
        assert re.search(
            r"Removes 2 tags of manifest sha256:\w+… only; the manifest stays, untagged: "
            r"(stable,? 1\.0|1\.0,? stable)\.",
            body,
        )
        assert body.count("tags of manifest") == 1
        assert "Removes tag 2.0 and its manifest sha256:" in body
        assert "Removes tag 2.0 only; its manifest and other tags stay" not in body
    else:
        assert body.count("and with it tags 1.0, stable") == 1
        assert "Removes tag 2.0 and its manifest sha256:" in body
    assert "Delete 3 tags" in body
    assert 'name="typed_name"' not in preview.content.decode()  # nothing beyond the selection


@pytest.mark.django_db
def test_a_manifest_delete_names_its_tags_and_wants_the_name_typed(
    operator_client: Client, registry: RegistryService, repo: str, pair: str
) -> None:
    url = f"/catalog/r/{repo}/-/delete/m/{pair}/"
    preview = operator_client.post(url, headers=HTMX)
    assert f"Removes manifest {pair} and with it tags 1.0, stable" in text(preview)
    wrong = operator_client.post(url, {"confirm": fingerprint(preview), "typed_name": "other"}, headers=HTMX)
    assert "Type the repository name" in text(wrong) and exists(registry, repo, pair)
    done = operator_client.post(url, {"confirm": fingerprint(preview), "typed_name": repo}, headers=HTMX)
    assert f"Removed manifest {pair} and with it tags 1.0, stable" in text(done)
    assert "next garbage collection" in text(done)
    assert not exists(registry, repo, pair)


@pytest.mark.django_db
def test_a_platform_manifest_needs_forcing(operator_client: Client, registry: RegistryService, repo: str) -> None:
    index, children = images.push_oci_index(registry.url, repo, "multi")
    url = f"/catalog/r/{repo}/-/delete/m/{children['linux/amd64']}/"
    preview = operator_client.post(url, headers=HTMX)
    assert "platform of the multi-arch index" in text(preview) and "(multi)" in text(preview)
    assert 'name="confirm"' not in preview.content.decode()
    forced = operator_client.post(url, {"force": "1"}, headers=HTMX)
    done = operator_client.post(url, {"force": "1", "confirm": fingerprint(forced), "typed_name": repo}, headers=HTMX)
    assert "Removed manifest" in text(done)
    assert not exists(registry, repo, children["linux/amd64"]) and exists(registry, repo, index)


@pytest.mark.django_db
def test_bad_input_is_a_400_in_the_dialog_or_as_a_page_without_htmx(
    operator_client: Client, registry: RegistryService, repo: str
) -> None:
    response = operator_client.post("/catalog/r/UPPER/-/delete/", {"tags": ["1.0"]})
    assert response.status_code == 400 and "<html" in response.content.decode()
    assert "is not a repository name" in text(response)
    empty = operator_client.post(f"/catalog/r/{repo}/-/delete/", {}, headers=HTMX)
    assert empty.status_code == 400 and "Select at least one tag" in text(empty)


@pytest.mark.django_db
def test_viewers_get_403_gets_405_and_csrf_is_enforced(
    viewer_client: Client, operator: Any, registry: RegistryService, repo: str
) -> None:
    images.push_oci_image(registry.url, repo, "1.0")
    url = f"/catalog/r/{repo}/-/delete/"
    assert viewer_client.post(url, {"tags": ["1.0"]}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.get(url).status_code == 405
    assert strict.post(url, {"tags": ["1.0"]}).status_code == 403
    assert exists(registry, repo, "1.0")


def test_lines_group_by_manifest() -> None:
    scan = deletion.RepositoryScan(
        name="x",
        refs={
            "a": ManifestRef("sha256:m", "application/vnd.oci.image.manifest.v1+json", 1),
            "b": ManifestRef("sha256:m", "application/vnd.oci.image.manifest.v1+json", 1),
        },
        children={},
    )
    from catalog.delete_views import lines_of

    plan = deletion.plan_from_scan(scan, ["a", "b"], force=False, deletes_tags=False, rules=())
    assert [(line.kind, line.tags, line.removed_tags) for line in lines_of(plan)] == [
        ("manifest", ("a", "b"), ("a", "b"))
    ]


@pytest.mark.django_db
def test_the_image_page_offers_tag_and_manifest_deletes_to_operators_only(
    operator_client: Client, viewer_client: Client, registry: RegistryService, repo: str, pair: str
) -> None:
    page = operator_client.get(f"/catalog/r/{repo}/-/t/1.0/").content.decode()
    assert f'hx-post="/catalog/r/{repo}/-/delete/"' in page and 'value="1.0"' in page
    assert f'hx-post="/catalog/r/{repo}/-/delete/m/{pair}/"' in page
    assert 'id="delete-dialog"' in page
    viewer_page = viewer_client.get(f"/catalog/r/{repo}/-/t/1.0/").content.decode()
    assert "delete-manifest" not in viewer_page and "/-/delete/" not in viewer_page
    table = operator_client.get(f"/catalog/r/{repo}/").content.decode()
    assert 'form="bulk-delete"' in table and 'data-testid="delete-tag"' in table

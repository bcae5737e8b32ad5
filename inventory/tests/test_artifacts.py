"""Every OCI artifact shown for what it is (issue 15): pushed for real to v3.1.1 and 2.8.2."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from inventory import sync
from inventory.models import Manifest, Repository
from registry_client import manifests
from testenv import images

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("chart")</script> & <b>bold</b>'
UNKNOWN_TYPE = "application/vnd.example.thing.v1+json"


def _push_everything(url: str, repo: str) -> dict[str, Any]:
    image = images.push_oci_image(url, repo, "1.0")
    image_size = len(images.get_manifest(url, repo, "1.0")[0])
    subject = images.Pushed(image, image_size)
    chart = images.push_helm_chart(url, repo, "0.3.1", name="web", app_version="2.4", description=HOSTILE)
    signature = images.push_cosign_signature(url, repo, image)
    sbom = images.push_artifact(
        url,
        repo,
        None,  # by digest: found through its subject and the referrers tag
        config=b"{}",
        config_media_type=images.OCI_EMPTY,
        layers=[(json.dumps({"spdxVersion": "SPDX-2.3", "name": repo}).encode(), images.SPDX_JSON)],
        artifact_type=images.SPDX_JSON,
        subject=subject,
    )
    referrers = images.push_referrers_index(url, repo, image, [(sbom, images.SPDX_JSON)])
    thing = images.push_artifact(
        url,
        repo,
        "thing",
        config=b"{}",
        config_media_type=images.OCI_EMPTY,
        layers=[(b"opaque bytes", "application/octet-stream")],
        artifact_type=UNKNOWN_TYPE,
    )
    return {
        "image": image,
        "chart": chart,
        "signature": signature,
        "sbom": sbom,
        "referrers": referrers,
        "thing": thing,
    }


def _tags(client: Client, repo: str, **params: str) -> dict[str, dict[str, Any]]:
    answer = client.get(f"/api/v1/repositories/{repo}/tags/", params)
    assert answer.status_code == 200, answer.content
    return {row["name"]: row for row in answer.json()["results"]}


def test_classify_reads_artifact_type_config_and_layers() -> None:
    oci_config = {"mediaType": images.OCI_CONFIG, "digest": "sha256:" + "0" * 64, "size": 2}
    assert manifests.classify(images.OCI_MANIFEST, {"config": oci_config, "layers": []}) == ("image", "")
    assert manifests.classify(images.OCI_INDEX, {"manifests": []}) == ("index", "")
    helm = {"config": {"mediaType": images.HELM_CONFIG}, "layers": [{"mediaType": images.HELM_CHART_LAYER}]}
    assert manifests.classify(images.OCI_MANIFEST, helm) == ("helm-chart", images.HELM_CONFIG)
    cosign = {"config": oci_config, "layers": [{"mediaType": images.COSIGN_SIGNATURE_LAYER}]}
    assert manifests.classify(images.OCI_MANIFEST, cosign) == ("signature", images.COSIGN_SIGNATURE_LAYER)
    notation = {"artifactType": "application/vnd.cncf.notary.signature", "config": {"mediaType": images.OCI_EMPTY}}
    assert manifests.classify(images.OCI_MANIFEST, notation)[0] == "signature"
    dsse = {"config": oci_config, "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json"}]}
    assert manifests.classify(images.OCI_MANIFEST, dsse)[0] == "attestation"
    cyclonedx = {"artifactType": "application/vnd.cyclonedx+json", "config": {"mediaType": images.OCI_EMPTY}}
    assert manifests.classify(images.OCI_MANIFEST, cyclonedx) == ("sbom", "application/vnd.cyclonedx+json")
    other = {"config": {"mediaType": "application/vnd.example.config+json"}, "layers": []}
    assert manifests.classify(images.OCI_MANIFEST, other) == ("artifact", "application/vnd.example.config+json")


@pytest.mark.parametrize("from_inventory", [False, True], ids=["registry", "inventory"])
def test_each_artifact_is_listed_with_its_kind(
    versioned_registry: Any, repo_prefix: str, viewer_client: Client, from_inventory: bool
) -> None:
    repo = f"{repo_prefix}-{versioned_registry.major}"
    pushed = _push_everything(versioned_registry.url, repo)
    if from_inventory:
        sync.reconcile()
        assert Manifest.objects.get(digest=pushed["chart"].digest).kind == "helm-chart"
        assert Manifest.objects.get(digest=pushed["thing"].digest).artifact_type == UNKNOWN_TYPE

    rows = _tags(viewer_client, repo)

    # Signature and referrers tags belong to their image, not rows of their own.
    assert sorted(rows) == ["0.3.1", "1.0", "thing"]
    assert rows["1.0"]["kind"] == "image" and rows["1.0"]["artifact_type"] == ""
    assert rows["0.3.1"]["kind"] == "helm-chart" and rows["0.3.1"]["platforms"] == []
    assert rows["thing"]["kind"] == "artifact" and rows["thing"]["artifact_type"] == UNKNOWN_TYPE
    chart_body = json.loads(images.get_manifest(versioned_registry.url, repo, "0.3.1")[0])
    assert rows["0.3.1"]["size"] == chart_body["config"]["size"] + chart_body["layers"][0]["size"]
    assert list(_tags(viewer_client, repo, kind="helm-chart")) == ["0.3.1"]
    assert list(_tags(viewer_client, repo, kind="artifact")) == ["thing"]
    refused = viewer_client.get(f"/api/v1/repositories/{repo}/tags/", {"kind": "photo"})
    assert refused.status_code == 400 and "photo" in str(refused.json()["kind"])

    page = viewer_client.get(f"/catalog/r/{repo}/", {"kind": "helm-chart"}).content.decode()
    assert 'data-tag="0.3.1"' in page and 'data-tag="1.0"' not in page and "of kind helm-chart" in page
    signature = viewer_client.get(f"/api/v1/repositories/{repo}/tags/sha256-{pushed['image'][7:]}.sig/").json()
    assert signature["kind"] == "signature"


def test_a_helm_chart_shows_its_chart_and_a_helm_pull(
    versioned_registry: Any, repo_prefix: str, viewer_client: Client, settings: Any
) -> None:
    repo = f"{repo_prefix}-{versioned_registry.major}/charts/web"
    images.push_helm_chart(versioned_registry.url, repo, "0.3.1", name="web", app_version="2.4", description=HOSTILE)
    for _ in ("registry", "inventory"):
        detail = viewer_client.get(f"/api/v1/repositories/{repo}/tags/0.3.1/").json()
        assert detail["kind"] == "helm-chart" and detail["config"] == {}
        assert detail["chart"] == {"name": "web", "version": "0.3.1", "app_version": "2.4", "description": HOSTILE}

        page = viewer_client.get(f"/catalog/r/{repo}/-/t/0.3.1/").content.decode()
        host = settings.REGISTRY_PUBLIC_HOST
        assert f'data-testid="pull-command">helm pull oci://{host}/{repo} --version 0.3.1 --plain-http</code>' in page
        assert "docker pull" not in page
        assert HOSTILE not in page and "&lt;script&gt;alert(&quot;chart&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in page
        assert 'data-testid="chart-app-version">2.4<' in page
        sync.reconcile()


def test_signatures_sboms_and_referrers_are_attached_to_their_image(
    versioned_registry: Any, repo_prefix: str, viewer_client: Client
) -> None:
    repo = f"{repo_prefix}-{versioned_registry.major}"
    pushed = _push_everything(versioned_registry.url, repo)
    sync.reconcile()

    rows = _tags(viewer_client, repo)

    attached = {item["digest"]: item for item in rows["1.0"]["attached"]}
    assert set(attached) == {pushed["signature"].digest, pushed["sbom"].digest}
    assert attached[pushed["sbom"].digest] == {
        "digest": pushed["sbom"].digest,
        "kind": "sbom",
        "artifact_type": images.SPDX_JSON,
        "size": 2 + len(json.dumps({"spdxVersion": "SPDX-2.3", "name": repo}).encode()),
        "created": None,
        "tag": None,
    }
    assert attached[pushed["signature"].digest]["kind"] == "signature"
    assert attached[pushed["signature"].digest]["tag"] == f"sha256-{pushed['image'][7:]}.sig"
    assert rows["thing"]["attached"] == [] and rows["0.3.1"]["attached"] == []
    detail = viewer_client.get(f"/api/v1/repositories/{repo}/tags/1.0/").json()
    assert {item["digest"] for item in detail["attached"]} == set(attached)
    # The SBOM pushed by digest opens by its digest, as an SBOM.
    sbom = viewer_client.get(f"/api/v1/repositories/{repo}/manifests/{pushed['sbom'].digest}/")
    assert sbom.status_code == 200 and sbom.json()["kind"] == "sbom"

    table = viewer_client.get(f"/catalog/r/{repo}/").content.decode()
    assert 'data-testid="attached-count"' in table and "2 attached" in table
    page = viewer_client.get(f"/catalog/r/{repo}/-/t/1.0/").content.decode()
    assert page.count('data-testid="attached-kind"') == 2
    assert f"/catalog/r/{repo}/-/m/{pushed['sbom'].digest}/" in page
    # The repository's size counts the attached artifacts with their image (the SBOM and the
    # unknown artifact share the empty config "{}": once).
    sizes = [rows[name]["size"] for name in rows] + [item["size"] for item in attached.values()]
    assert Repository.objects.get(name=repo).size == sum(sizes) - 2


def test_deleting_an_image_deletes_its_attached_artifacts_and_says_so(
    versioned_registry: Any, repo_prefix: str, operator_client: Client
) -> None:
    url = versioned_registry.url
    repo = f"{repo_prefix}-{versioned_registry.major}"
    pushed = _push_everything(url, repo)
    other = images.push_oci_image(url, repo, "2.0")
    images.push_cosign_signature(url, repo, other)
    sync.reconcile()
    hex_digits = pushed["image"][7:]
    attached_tags = {f"sha256-{hex_digits}", f"sha256-{hex_digits}.sig"}

    def bulk(**body: Any) -> dict[str, Any]:
        answer = operator_client.post(
            f"/api/v1/repositories/{repo}/bulk-delete/", body, content_type="application/json"
        )
        assert answer.status_code == 200, answer.content
        return answer.json()

    preview = bulk(tags=["1.0"], dry_run=True)
    by_tag = {row["tag"]: row for row in preview["results"]}
    assert set(by_tag) == {"1.0", *attached_tags}
    assert all(by_tag[tag]["status"] == "removed" for tag in by_tag)
    for tag in attached_tags:
        assert by_tag[tag]["detail"].startswith("Attached to 1.0 (")
    assert images.manifest_digest(url, repo, f"sha256-{hex_digits}.sig") is not None  # a preview changes nothing

    done = bulk(tags=["1.0"])
    assert done["results"] == preview["results"]
    for reference in ("1.0", *attached_tags):
        assert images.manifest_digest(url, repo, reference) is None
    # The other image and its signature, the chart and the artifact stay.
    for reference in ("2.0", f"sha256-{other[7:]}.sig", "0.3.1", "thing"):
        assert images.manifest_digest(url, repo, reference) is not None
    rows = _tags(operator_client, repo)
    assert sorted(rows) == ["0.3.1", "2.0", "thing"] and len(rows["2.0"]["attached"]) == 1


def test_an_attached_artifact_alone_does_not_take_its_image(
    versioned_registry: Any, repo_prefix: str, operator_client: Client
) -> None:
    url = versioned_registry.url
    repo = f"{repo_prefix}-{versioned_registry.major}"
    image = images.push_oci_image(url, repo, "1.0")
    signature = f"sha256-{image[7:]}.sig"
    images.push_cosign_signature(url, repo, image)
    answer = operator_client.post(
        f"/api/v1/repositories/{repo}/bulk-delete/", {"tags": [signature]}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert [row["tag"] for row in answer.json()["results"]] == [signature]
    assert images.manifest_digest(url, repo, signature) is None
    assert images.manifest_digest(url, repo, "1.0") == image


def test_deleting_a_manifest_by_digest_takes_its_attached_tags(
    versioned_registry: Any, repo_prefix: str, operator_client: Client
) -> None:
    url = versioned_registry.url
    repo = f"{repo_prefix}-{versioned_registry.major}"
    pushed = _push_everything(url, repo)
    hex_digits = pushed["image"][7:]
    dialog = operator_client.post(f"/catalog/r/{repo}/-/delete/m/{pushed['image']}/").content.decode()
    assert 'data-testid="delete-attached"' in dialog and f"sha256-{hex_digits}.sig" in dialog

    answer = operator_client.delete(f"/api/v1/repositories/{repo}/manifests/{pushed['image']}/")

    assert answer.status_code == 200, answer.content
    assert set(answer.json()["removed_tags"]) == {"1.0", f"sha256-{hex_digits}", f"sha256-{hex_digits}.sig"}
    for reference in (pushed["image"], f"sha256-{hex_digits}", f"sha256-{hex_digits}.sig"):
        assert images.manifest_digest(url, repo, reference) is None
    assert images.manifest_digest(url, repo, "0.3.1") == pushed["chart"].digest


def test_before_the_first_sync_referrers_and_subject_manifests_are_attached_as_after_it(
    versioned_registry: Any, repo_prefix: str, viewer_client: Client
) -> None:
    url = versioned_registry.url
    repo = f"{repo_prefix}-{versioned_registry.major}"
    pushed = _push_everything(url, repo)
    image = images.Pushed(pushed["image"], len(images.get_manifest(url, repo, "1.0")[0]))
    tagged = images.push_artifact(  # an artifact with a tag of its own and a subject
        url,
        repo,
        "1.0-provenance",
        config=b"{}",
        config_media_type=images.OCI_EMPTY,
        layers=[(b'{"predicateType": "https://slsa.dev/provenance/v1"}', "application/vnd.in-toto+json")],
        artifact_type="application/vnd.in-toto+json",
        subject=image,
    )
    expected = {pushed["signature"].digest, pushed["sbom"].digest, tagged.digest}

    answers = []
    for synced in (False, True):
        assert sync.synced_once() is synced
        rows = _tags(viewer_client, repo)
        assert sorted(rows) == ["0.3.1", "1.0", "thing"]  # the artifacts are no rows of their own
        assert {item["digest"] for item in rows["1.0"]["attached"]} == expected
        detail = viewer_client.get(f"/api/v1/repositories/{repo}/tags/1.0/").json()
        assert {item["digest"] for item in detail["attached"]} == expected
        page = viewer_client.get(f"/catalog/r/{repo}/-/t/1.0/").content.decode()
        assert page.count('data-testid="attached-kind"') == 3
        assert f"/catalog/r/{repo}/-/m/{pushed['sbom'].digest}/" in page
        table = viewer_client.get(f"/catalog/r/{repo}/").content.decode()
        assert "3 attached" in table and 'data-tag="1.0-provenance"' not in table
        answers.append(sorted((item["digest"], item["kind"], item["tag"]) for item in rows["1.0"]["attached"]))
        sync.reconcile()
    assert answers[0] == answers[1]


def test_the_delete_dialog_confirms_an_image_with_its_attached_tags(
    versioned_registry: Any, repo_prefix: str, operator_client: Client
) -> None:
    """The dialog's confirmation posts every tag of the preview, attached ones included: the plan
    it runs must be the one shown (it was refused as "changed since the preview")."""
    url = versioned_registry.url
    repo = f"{repo_prefix}-{versioned_registry.major}"
    pushed = _push_everything(url, repo)
    action = f"/catalog/r/{repo}/-/delete/"
    preview = operator_client.post(action, {"tags": ["1.0"]}, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    html = preview.content.decode()
    selected = re.findall(r'<input type="hidden" name="tags" value="([^"]+)">', html)
    assert sorted(selected) == sorted(["1.0", f"sha256-{pushed['image'][7:]}", f"sha256-{pushed['image'][7:]}.sig"])
    assert html.count('data-testid="delete-line-note"') == 2 and 'data-testid="delete-attached-by-digest"' in html
    fingerprint = re.search(r'name="confirm" value="([0-9a-f]+)"', html)[1]  # type: ignore[index]

    done = operator_client.post(
        action, {"tags": selected, "confirm": fingerprint, "prune": "1"}, headers={"HX-Request": "true"}
    )

    assert done.status_code == 200, done.content.decode()
    assert done.content.decode().count('data-testid="delete-line-note"') == 2, done.content.decode()
    for digest in (pushed["image"], pushed["signature"].digest, pushed["referrers"].digest, pushed["sbom"].digest):
        assert images.manifest_digest(url, repo, digest) is None, digest
    assert images.manifest_digest(url, repo, "thing") == pushed["thing"].digest

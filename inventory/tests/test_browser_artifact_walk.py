"""In Chromium, as a NAS owner: a Helm chart repository, an image with its signature, SBOM and an
unknown artifact; the tag table, the image page, the attached list, deleting the image with them."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from inventory import sync
from inventory.tests.test_artifacts import HOSTILE, _push_everything
from testenv import images

SHOTS = os.environ.get("ARTIFACT_SHOTS", "")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _no_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url} is {width} px wide at {viewport} px"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_nas_owner_walks_a_chart_repository_and_a_signed_image_then_deletes_it(
    page: Any, live_server: Any, operator: User, registry: Any, repo_prefix: str, width: int, settings: Any
) -> None:
    url = registry.url
    charts = f"{repo_prefix}/charts/web"
    images.push_helm_chart(url, charts, "0.3.1", name="web", app_version="2.4", description=HOSTILE)
    images.push_helm_chart(url, charts, "0.4.0", name="web", app_version="2.5", description="Next")
    app = f"{repo_prefix}/app"
    pushed = _push_everything(url, app)
    sync.reconcile()
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, operator)
    host = settings.REGISTRY_PUBLIC_HOST

    page.goto(f"{live_server.url}/catalog/r/{charts}/")
    _shot(page, f"{width}-charts")
    _no_overflow(page)
    assert page.locator("[data-testid=kind]").all_inner_texts() == ["helm-chart", "helm-chart"]
    page.click("tr[data-tag='0.3.1'] a[href$='/-/t/0.3.1/']")
    page.wait_for_selector("[data-testid=chart-app-version]")
    _shot(page, f"{width}-chart")
    _no_overflow(page)
    assert (
        page.inner_text("[data-testid=pull-command]") == f"helm pull oci://{host}/{charts} --version 0.3.1 --plain-http"
    )
    assert HOSTILE in page.inner_text("main")  # shown as text, not run as markup

    page.goto(f"{live_server.url}/catalog/r/{app}/")
    _shot(page, f"{width}-app")
    _no_overflow(page)
    assert page.locator("tr[data-tag]").evaluate_all("rows => rows.map(r => r.dataset.tag)") == [
        "0.3.1",
        "1.0",
        "thing",
    ]
    assert page.inner_text("tr[data-tag='1.0'] [data-testid=attached-count]") == "2 attached"
    assert "application/vnd.example.thing.v1+json" in page.inner_text("tr[data-tag='thing']")
    page.click("tr[data-tag='1.0'] [data-testid=attached-count]")
    page.wait_for_selector("[data-testid=attached]")
    _shot(page, f"{width}-image")
    _no_overflow(page)
    assert sorted(page.locator("[data-testid=attached-kind] a").all_inner_texts()) == ["sbom", "signature"]
    assert "deleting it deletes them too" in page.inner_text("main")
    page.click(f"[data-testid=attached] tr[data-digest='{pushed['sbom'].digest}'] a")
    page.wait_for_selector("[data-testid=artifact-type]")
    _shot(page, f"{width}-sbom")
    _no_overflow(page)
    assert page.inner_text("[data-testid=kind]") == "sbom"
    assert (
        page.inner_text("[data-testid=pull-command]") == f"oras pull {host}/{app}@{pushed['sbom'].digest} --plain-http"
    )
    page.goto(f"{live_server.url}/catalog/r/{app}/-/t/thing/")
    _shot(page, f"{width}-thing")
    _no_overflow(page)
    assert page.inner_text("[data-testid=kind]") == "artifact"
    assert page.inner_text("[data-testid=pull-command]") == f"oras pull {host}/{app}:thing --plain-http"

    # Deleting the image from its row takes its signature, referrers index and SBOM along.
    page.goto(f"{live_server.url}/catalog/r/{app}/")
    page.locator("tr[data-tag='1.0'] [data-testid=delete-tag]").click()
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    _shot(page, f"{width}-delete-preview")
    _no_overflow(page)
    notes = dialog.locator("[data-testid=delete-line-note]").all_inner_texts()
    assert len(notes) == 2 and all(note.startswith("Attached to 1.0 (") for note in notes), notes
    assert pushed["sbom"].digest[:19] in dialog.inner_text()
    assert images.manifest_digest(url, app, "1.0") == pushed["image"]  # the preview changed nothing
    dialog.locator("[data-testid=delete-confirm]").click()
    page.locator("[data-testid=delete-gc-note]").wait_for()
    _shot(page, f"{width}-delete-done")
    page.locator("tr[data-tag='1.0']").wait_for(state="detached")
    gone = (pushed["image"], pushed["signature"].digest, pushed["referrers"].digest, pushed["sbom"].digest)
    for digest in gone:
        assert images.manifest_digest(url, app, digest) is None, digest
    assert images.manifest_digest(url, app, "thing") == pushed["thing"].digest
    assert images.manifest_digest(url, charts, "0.3.1") is not None

"""In Chromium: an image page lists the SBOM and the signature attached to it, and opens them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from inventory import sync
from inventory.tests.test_artifacts import _push_everything


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_person_sees_an_images_sbom_and_signature_and_opens_the_sbom(
    page: Any, live_server: Any, viewer: User, registry: Any, repo_prefix: str, width: int
) -> None:
    pushed = _push_everything(registry.url, repo_prefix)
    sync.reconcile()
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)

    page.goto(f"{live_server.url}/catalog/r/{repo_prefix}/")
    assert page.inner_text("tr[data-tag='1.0'] [data-testid=attached-count]") == "2 attached"
    assert page.locator("tr[data-tag^=sha256-]").count() == 0
    assert page.inner_text("tr[data-tag='0.3.1'] [data-testid=kind]") == "helm-chart"
    page.click("tr[data-tag='1.0'] [data-testid=attached-count]")
    page.wait_for_selector("[data-testid=attached]")
    kinds = page.locator("[data-testid=attached-kind] a").all_inner_texts()
    assert sorted(kinds) == ["sbom", "signature"]
    page.click(f"[data-testid=attached] tr[data-digest='{pushed['sbom'].digest}'] a")
    page.wait_for_selector("[data-testid=artifact-type]")
    assert page.inner_text("[data-testid=kind]") == "sbom"
    assert page.inner_text("[data-testid=digest]") == pushed["sbom"].digest
    assert page.inner_text("[data-testid=artifact-type]") == "application/spdx+json"

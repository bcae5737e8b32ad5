"""Big selections in Chromium, at 1400 px and 390 px: counted, warned, confirmed in view (issue 17)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from testenv import images
from testenv.services import RegistryService

SHOTS = os.environ.get("UX_SHOTS", "")  # a folder to keep screenshots in while developing
WIDTHS = [1400, 390]


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=False)


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_select_all_warns_it_is_every_tag_and_confirms_in_view(
    page: Any, live_server: Any, operator: User, registry: RegistryService, width: int
) -> None:
    repo = f"selection/{uuid.uuid4().hex[:8]}"
    digest = images.push_oci_image(registry.url, repo, "t000")
    tags = [f"t{i:03d}" for i in range(40)]
    for tag in tags[1:]:
        images.tag_existing(registry.url, repo, tag, digest)
    page.set_viewport_size({"width": width, "height": 800})
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{repo}/")

    bulk = page.locator("[data-testid=bulk-delete]")
    assert bulk.is_disabled() and bulk.inner_text() == "Select tags to delete"
    page.check("input[data-select-all]")
    assert bulk.inner_text() == "Delete the 40 selected tags…"
    bulk.click()
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    shot(page, f"select-all-{width}")
    summary = " ".join(page.inner_text("[data-testid=delete-summary]").split())
    assert "40 tags selected" in summary
    assert "every tag of the repository (all 40)" in page.inner_text("[data-testid=delete-every-tag]")
    # One line for the one manifest, not 40.
    assert page.locator("[data-testid=delete-lines] > li").count() == 1
    assert in_view(page, "[data-testid=delete-confirm]")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Cancel: the dialog goes, the boxes are cleared, nothing was deleted.
    page.click("[data-testid=delete-cancel]")
    assert dialog.count() == 0
    assert page.locator("input[name=tags]:checked").count() == 0
    assert bulk.inner_text() == "Select tags to delete"
    assert images.manifest_digest(registry.url, repo, "t005") == digest

    # Esc closes it too.
    page.check("tr[data-tag='t001'] input[name=tags]")
    assert bulk.inner_text() == "Delete the 1 selected tag…"
    bulk.click()
    dialog.wait_for()
    page.keyboard.press("Escape")
    assert dialog.count() == 0

    # Confirm: 40 tags want the repository name typed.
    page.check("input[data-select-all]")
    bulk.click()
    dialog.wait_for()
    page.click("[data-testid=delete-confirm]")  # untyped: the browser refuses the empty field
    assert images.manifest_digest(registry.url, repo, "t005") == digest
    page.fill("[data-testid=delete-typed-name]", repo)
    page.click("[data-testid=delete-confirm]")
    page.locator("[data-testid=delete-gc-note]").wait_for()
    shot(page, f"select-all-done-{width}")
    page.locator("tr[data-tag='t001']").wait_for(state="detached")  # the table behind refreshed
    assert "No tags" in page.inner_text("#tag-table")
    assert images.manifest_digest(registry.url, repo, "t005") is None

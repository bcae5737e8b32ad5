"""Protected tags in Chromium at 1400 px and 390 px: an admin adds a rule, the tag table marks the
tag, its delete dialog refuses it and says why, the admin removes the rule."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.models import ProtectedTag
from conftest import browser_login, make_user
from testenv import images
from testenv.services import RegistryService

SHOTS = os.environ.get("UX_SHOTS", "")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_an_admin_protects_a_tag_and_its_delete_is_refused_in_the_dialog(
    page: Any, live_server: Any, admin_user: User, registry: RegistryService, width: int
) -> None:
    repo = f"protectui/{uuid.uuid4().hex[:8]}"
    latest = images.push_oci_image(registry.url, repo, "latest")
    images.push_oci_image(registry.url, repo, "build-7")
    page.set_viewport_size({"width": width, "height": 800})
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, live_server, admin_user)

    page.goto(f"{live_server.url}/catalog/")
    page.click("[data-testid=protected-tags-link]")
    assert "The registry itself cannot enforce this" in page.inner_text("[data-testid=protection-limits]")
    page.fill("[data-testid=rule-repositories]", "protectui/**")
    page.fill("[data-testid=rule-tags]", "(latest")
    page.click("[data-testid=rule-add]")
    assert "not a valid regular expression" in page.inner_text("[data-testid=add-rule]")
    page.fill("[data-testid=rule-tags]", "^latest$")
    page.click("[data-testid=rule-add]")
    rule = ProtectedTag.objects.get()
    assert page.locator(f"tr[data-rule='{rule.pk}']").inner_text().count("protectui/**") == 1
    shot(page, f"protected-tags-{width}")
    assert fits(page)

    page.goto(f"{live_server.url}/catalog/r/{repo}/")
    badge = page.locator("tr[data-tag='latest'] [data-testid=protected]")
    assert badge.inner_text() == "protected"
    assert badge.get_attribute("title") == rule.describe()
    assert page.locator("tr[data-tag='build-7'] [data-testid=protected]").count() == 0
    assert fits(page)

    page.click("tr[data-tag='latest'] [data-testid=delete-tag]")
    warning = page.locator("[data-testid=delete-protected]")
    warning.wait_for()
    shot(page, f"protected-dialog-{width}")
    assert "Tag latest is protected" in warning.inner_text()
    assert rule.describe() in page.inner_text("[data-testid=delete-lines]")
    assert page.locator("[data-testid=delete-confirm]").count() == 0
    assert fits(page)
    page.click("[data-testid=delete-cancel]")

    # Both selected: the dialog offers the preview of the unprotected one, which deletes it alone.
    page.check("tr[data-tag='latest'] input[name=tags]")
    page.check("tr[data-tag='build-7'] input[name=tags]")
    page.click("[data-testid=bulk-delete]")
    page.locator("[data-testid=delete-without-protected]").click()
    page.locator("[data-testid=delete-confirm]").click()
    page.locator("[data-testid=delete-lines]").get_by_text("Removed").wait_for()
    assert images.manifest_digest(registry.url, repo, "build-7") is None
    assert images.manifest_digest(registry.url, repo, "latest") == latest

    page.goto(f"{live_server.url}/catalog/protected-tags/")
    page.click(f"tr[data-rule='{rule.pk}'] [data-testid=remove-rule]")
    page.wait_for_url(f"{live_server.url}/catalog/protected-tags/")
    assert not ProtectedTag.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_viewer_reads_the_rules_without_the_forms(page: Any, live_server: Any) -> None:
    viewer = make_user("vic", "viewer")
    ProtectedTag.objects.create(repositories="**", tags=r"^v?\d+\.\d+\.\d+$")
    page.set_viewport_size({"width": 390, "height": 800})
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/catalog/protected-tags/")
    assert r"^v?\d+\.\d+\.\d+$" in page.inner_text("[data-testid=protected-tags]")
    assert page.locator("[data-testid=add-rule]").count() == 0
    assert page.locator("[data-testid=remove-rule]").count() == 0
    assert fits(page)

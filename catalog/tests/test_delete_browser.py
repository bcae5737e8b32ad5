"""An operator deletes tags in Chromium through the confirmation dialog and the multi-select."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from core.models import AuditEntry
from testenv import images
from testenv.services import RegistryService


def exists(registry: RegistryService, repo: str, reference: str) -> bool:
    return images.manifest_digest(registry.url, repo, reference) is not None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_deletes_a_tag_through_the_dialog(
    page: Any, live_server: Any, operator: User, registry: RegistryService
) -> None:
    repo = f"browserdel/{uuid.uuid4().hex[:8]}"
    images.push_oci_image(registry.url, repo, "1.0")
    kept = images.push_oci_image(registry.url, repo, "2.0")
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{repo}/")

    page.locator("tr[data-tag='1.0'] [data-testid=delete-tag]").click()
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    assert "Removes tag 1.0 only" in " ".join(dialog.inner_text().split())
    assert exists(registry, repo, "1.0")  # the preview deleted nothing

    dialog.locator("[data-testid=delete-confirm]").click()
    page.locator("[data-testid=delete-gc-note]").wait_for()
    assert "next garbage collection" in page.inner_text("[data-testid=delete-gc-note]")
    assert page.locator("[data-testid=delete-gc-note] a[href='/maintenance/']").count() == 1
    page.locator("tr[data-tag='1.0']").wait_for(state="detached")  # the table reloaded
    assert page.locator("tr[data-tag='2.0']").count() == 1

    page.locator("[data-testid=delete-dialog] [data-close-dialog]").first.click()
    assert page.locator("[data-testid=delete-dialog]").count() == 0
    assert not exists(registry, repo, "1.0")
    assert images.manifest_digest(registry.url, repo, "2.0") == kept
    entry = AuditEntry.objects.get(repository=repo)
    assert (entry.actor, entry.tag, entry.outcome, entry.ip) == ("otto", "1.0", "succeeded", "127.0.0.1")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_previews_a_selection_then_deletes_it(
    page: Any, live_server: Any, operator: User, versioned_registry: RegistryService
) -> None:
    registry = versioned_registry
    repo = f"browserdel/{uuid.uuid4().hex[:8]}"
    digest = images.push_oci_image(registry.url, repo, "1.0")
    images.tag_existing(registry.url, repo, "stable", digest)
    images.push_oci_image(registry.url, repo, "2.0")
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{repo}/")

    page.check("tr[data-tag='1.0'] input[name=tags]")
    page.check("tr[data-tag='stable'] input[name=tags]")
    page.click("[data-testid=bulk-delete]")
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    text = " ".join(dialog.inner_text().split())
    if registry.major == 3:
        assert "Removes 2 tags of manifest sha256:" in text and "only; the manifest stays" in text
        assert "1.0" in text and "stable" in text and "2.0" not in text
        assert dialog.locator("input[name=prune]").is_checked()
    else:
        assert "and with it tags 1.0, stable" in text and "2.0" not in text
    assert exists(registry, repo, "1.0")

    dialog.locator("[data-testid=delete-confirm]").click()
    page.locator("[data-testid=delete-gc-note]").wait_for()
    page.locator("tr[data-tag='stable']").wait_for(state="detached")
    assert not exists(registry, repo, "1.0") and not exists(registry, repo, "stable")
    # 2.8 deleted their manifest by digest; registry:3 removed the two tags, then the manifest
    # they left untagged (the dialog's "Also delete the manifest", ticked by default).
    assert not exists(registry, repo, digest)
    assert exists(registry, repo, "2.0")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_viewer_sees_no_delete_controls(page: Any, live_server: Any, viewer: User, registry: RegistryService) -> None:
    repo = f"browserdel/{uuid.uuid4().hex[:8]}"
    images.push_oci_image(registry.url, repo, "1.0")
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/catalog/r/{repo}/")
    page.locator("tr[data-tag='1.0']").wait_for()
    assert page.locator("[data-testid=delete-tag], [data-testid=bulk-delete], input[name=tags]").count() == 0

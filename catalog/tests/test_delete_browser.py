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
    # registry:3 with "Also delete the manifest these tags leave untagged" ticked (issue 25).
    assert "Removes tag 1.0 and its manifest sha256:" in " ".join(dialog.inner_text().split())
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
        assert "Removes 2 tags and their manifest sha256:" in text and "which no other tag points to" in text
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


def _words(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width,height", [(1400, 900), (390, 844)])
def test_the_dialog_sentence_follows_the_untagged_manifests_box(
    page: Any, live_server: Any, operator: User, registry: RegistryService, width: int, height: int
) -> None:
    """Issue 25: "Removes tag v1 only; its manifest and other tags stay" above a pre-ticked box that
    deletes that manifest. The sentences now say what the box makes happen, as it is ticked."""
    page.set_viewport_size({"width": width, "height": height})
    repo = f"browserdel/{uuid.uuid4().hex[:8]}"
    first = images.push_oci_image(registry.url, repo, "1.0")
    second = images.push_oci_image(registry.url, repo, "2.0")
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{repo}/")

    page.locator("tr[data-tag='1.0'] [data-testid=delete-tag]").click()
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    box = dialog.locator("input[name=prune]")
    assert box.is_checked()  # ticked by default
    ticked = _words(dialog)
    assert "Removes 1 tag and 1 manifest." in ticked
    assert f"Removes tag 1.0 and its manifest sha256:{first[7:19]}" in ticked
    assert "which no other tag points to" in ticked
    assert "only" not in _words(dialog.locator("[data-testid=delete-lines]"))
    assert "Also delete the 1 manifest these tags leave untagged" in ticked

    box.uncheck()  # the sentence changes at once, without a request
    unticked = _words(dialog)
    assert "Removes 1 tag." in unticked and "1 manifest." not in unticked
    assert f"Removes tag 1.0 only; its manifest sha256:{first[7:19]}… stays, untagged." in unticked
    assert "and its manifest" not in unticked
    box.check()
    assert "Removes tag 1.0 and its manifest" in _words(dialog)
    box.uncheck()

    dialog.locator("[data-testid=delete-confirm]").click()
    page.locator("[data-testid=delete-gc-note]").wait_for()
    done = _words(page.locator("[data-testid=delete-dialog]"))
    assert f"Removed tag 1.0 only; its manifest sha256:{first[7:19]}… stays, untagged." in done
    assert "goes with it" not in done and "and its manifest" not in done
    # What the result says is what happened: the tag is gone, its manifest is still there.
    assert not exists(registry, repo, "1.0") and exists(registry, repo, first)
    page.locator("[data-testid=delete-dialog] [data-close-dialog]").first.click()

    page.locator("tr[data-tag='1.0']").wait_for(state="detached")
    page.locator("tr[data-tag='2.0'] [data-testid=delete-tag]").click()
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    assert dialog.locator("input[name=prune]").is_checked()
    dialog.locator("[data-testid=delete-confirm]").click()
    page.locator("[data-testid=delete-gc-note]").wait_for()
    done = _words(page.locator("[data-testid=delete-dialog]"))
    assert "Removed 1 tag and 1 manifest." in done
    assert f"Removed tag 2.0 and its manifest sha256:{second[7:19]}…, which no other tag pointed to." in done
    assert "only" not in _words(page.locator("[data-testid=delete-lines]"))
    assert not exists(registry, repo, "2.0") and not exists(registry, repo, second)

"""In Chromium: delete an image's last tag, run the GC the dialog points to, and it frees what was promised."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from jobs.models import Job
from maintenance.tests.conftest import BOTH_VERSIONS
from maintenance.tests.gc_helpers import blob_path, manifest_blobs
from testenv import images
from testenv.services import RegistryService

SHOTS = os.environ.get("UX_SHOTS", "")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def delete_then_collect(page: Any, live_server: Any, registry: RegistryService, width: int, label: str) -> None:
    repo = f"reclaim/{uuid.uuid4().hex[:8]}"
    images.push_oci_image(registry.url, repo, "1.0", layers=[os.urandom(200_000)])
    images.push_oci_image(registry.url, repo, "2.0")
    going = manifest_blobs(registry, repo, "1.0")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/catalog/r/{repo}/")
    page.click("tr[data-tag='1.0'] [data-testid=delete-tag]")
    dialog = page.locator("[data-testid=delete-dialog]")
    dialog.wait_for()
    shot(page, f"reclaim-dialog-{label}-{width}")
    promised = int(dialog.locator("[data-testid=delete-reclaim-bytes]").first.get_attribute("data-bytes"))
    assert promised > 200_000
    prune = dialog.locator("[data-testid=delete-prune]")
    if registry.major == 3:  # offered, ticked: without it the default GC would free nothing
        assert prune.is_checked()
    else:
        assert prune.count() == 0
    dialog.locator("[data-testid=delete-confirm]").click()
    note = page.locator("[data-testid=delete-gc-note]")
    note.wait_for()
    assert "next garbage collection frees up to" in note.inner_text()
    shot(page, f"reclaim-done-{label}-{width}")

    note.locator("a").click()  # to Maintenance, as the note says
    page.wait_for_url("**/maintenance/")
    page.uncheck("#gc-form input[name=dry_run]")
    page.check("#gc-form input[name=mode][value=online]")
    page.click("[data-testid=gc-run]")
    page.locator("[data-testid=gc-confirm]").wait_for()
    page.click("[data-testid=gc-confirm-run]")
    page.locator("#current-job [data-testid=job-status]", has_text="succeeded").wait_for(timeout=60_000)
    shot(page, f"reclaim-gc-{label}-{width}")
    outcome = page.inner_text("#current-job [data-testid=job-outcome]")
    assert re.match(r"Freed \d", outcome) and f"from 1 image in {repo}" in outcome, outcome
    job = Job.objects.filter(kind=Job.Kind.GC).order_by("-pk").first()
    assert job.result["bytes_freed"] >= promised
    for blob in going[1:]:
        assert not blob_path(registry, blob).exists()
    assert images.manifest_digest(registry.url, repo, "2.0") is not None


@BOTH_VERSIONS
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_deleting_the_last_tag_then_collecting_frees_what_the_dialog_said(
    page: Any, live_server: Any, operator: User, private_registry: RegistryService, celery_worker: object, width: int
) -> None:
    browser_login(page, live_server, operator)
    delete_then_collect(page, live_server, private_registry, width, f"v{private_registry.major}")

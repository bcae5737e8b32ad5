"""The Storage page in Chromium at 1400 px and 390 px: the figures, the drawn growth chart, the
repository table sorted and paged in place, no horizontal scrolling."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from conftest import browser_login
from inventory.models import Blob, Manifest, ManifestBlob, Repository, SyncState, Tag
from maintenance.models import StatsSample

SHOTS = os.environ.get("UX_SHOTS", "")

DRAWN = """(id) => {
  const canvas = document.getElementById(id);
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted += 1;
  return {chart: chart !== undefined, points: chart ? chart.data.datasets[0].data.length : 0, painted};
}"""


def _synced() -> None:
    """The inventory vouches for itself (a sync finished): the Storage page reads nothing first (issue 22)."""
    SyncState.objects.update_or_create(pk=1, defaults={"last_finished": timezone.now()})


def _inventory(count: int) -> None:
    """``count`` repositories with long names in two namespaces, sharing one layer; old and never pulled."""
    _synced()
    shared = Blob.objects.create(digest="sha256:" + "a" * 64, size=50 * 2**20)
    old = timezone.now() - dt.timedelta(days=200)
    for i in range(count):
        name = f"{'team' if i % 2 else 'platform-services'}/a-rather-long-repository-name-{i:03d}"
        repo = Repository.objects.create(name=name)
        own = Blob.objects.create(digest=f"sha256:{i:064d}", size=(i + 1) * 2**20)
        manifest = Manifest.objects.create(
            digest=f"sha256:{i + 1000:064d}", media_type="application/vnd.oci.image.manifest.v1+json", kind="image"
        )
        ManifestBlob.objects.bulk_create(
            [
                ManifestBlob(manifest=manifest, blob=shared, position=0),
                ManifestBlob(manifest=manifest, blob=own, position=1),
            ]
        )
        Tag.objects.create(
            repository=repo,
            name="release-2026.11",
            digest=manifest.digest,
            manifest=manifest,
            first_seen=old,
            pushed_at=old,
        )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_the_storage_page_shows_where_the_space_goes_at_each_width(
    page: Any, live_server: Any, viewer: User, width: int
) -> None:
    _inventory(60)
    now = timezone.now()
    for day in range(29, 0, -3):
        StatsSample.objects.create(collected_at=now - dt.timedelta(days=day), storage_bytes=(200 - day) * 2**20)
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)

    page.goto(f"{live_server.url}/maintenance/storage/")
    assert page.title().startswith("Storage")
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"storage-{width}.png"), full_page=True)
    assert "198.0 MB" in page.inner_text("[data-testid=stored-bytes]").replace("\xa0", " ")
    drawn = page.evaluate(DRAWN, "chart-growth")
    assert drawn["chart"] and drawn["points"] == 10 and drawn["painted"] > 500, drawn
    assert page.locator("[data-testid=storage-top] tbody tr").count() == 10
    assert page.locator("[data-testid=storage-namespaces] tbody tr").count() == 2
    assert "60 images" in page.inner_text("[data-testid=not-pulled]")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # The biggest first; by name on a click, in place; then the second page.
    rows = page.locator("[data-testid=storage-repositories] tbody tr")
    assert rows.first.get_attribute("data-repository") == "team/a-rather-long-repository-name-059"
    page.click("[data-testid=storage-repositories] th a:text('Repository')")
    page.wait_for_url("**sort=name**")
    assert rows.first.get_attribute("data-repository") == "platform-services/a-rather-long-repository-name-000"
    page.click("[data-testid=storage-page-next]")
    page.wait_for_url("**page=2**")
    assert rows.count() == 10
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_navigation_leads_to_the_storage_page(page: Any, live_server: Any, viewer: User) -> None:
    _synced()
    page.set_viewport_size({"width": 1400, "height": 800})
    browser_login(page, live_server, viewer)
    page.click("header nav .nav-wide a:text('Storage')")
    page.wait_for_url("**/maintenance/storage/")
    assert "No statistics sample yet" in page.inner_text("[data-testid=stored-bytes]")
    assert "No content in the inventory yet" in page.inner_text("[data-testid=storage-repositories]")

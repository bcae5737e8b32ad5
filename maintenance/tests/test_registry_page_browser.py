"""A person opens the Registry page in Chromium: the panel, the drawn charts, the snapshot pause."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from conftest import browser_login
from maintenance.models import StatsSample

CHARTS = ["chart-cpu", "chart-memory", "chart-storage", "chart-content", "chart-largest"]

DRAWN = """(ids) => ids.map((id) => {
  const canvas = document.getElementById(id);
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted += 1;
  return {id, chart: chart !== undefined, points: chart ? chart.data.datasets[0].data.length : 0, painted};
})"""


def _samples() -> None:
    now = timezone.now()
    for hours in range(12, 0, -1):
        StatsSample.objects.create(
            collected_at=now - timedelta(hours=hours),
            cpu_percent=hours % 5,
            memory_bytes=(40 + hours) * 2**20,
            memory_limit_bytes=2**30,
            storage_bytes=(100 + hours) * 2**20,
            unique_bytes=(90 + hours) * 2**20,
            repository_count=3,
            tag_count=10 + hours,
            largest_repositories=[
                {"name": "big", "unique_bytes": 5 * 2**20, "tags": 2},
                {"name": "small", "unique_bytes": 2**20, "tags": 1},
            ],
        )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_draws_the_charts_and_shows_the_container(
    page: object, live_server: object, viewer: User, celery_worker: object, private_registry: object
) -> None:
    # A registry of its own: the shared one's last log lines no longer hold "listening on"
    # once the rest of the suite has used it.
    _samples()
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/registry/")  # type: ignore[attr-defined]

    drawn = page.evaluate(DRAWN, CHARTS)  # type: ignore[attr-defined]
    for chart in drawn:
        assert chart["chart"], chart
        assert chart["painted"] > 500, chart
    assert {c["id"]: c["points"] for c in drawn}["chart-cpu"] == 12
    assert {c["id"]: c["points"] for c in drawn}["chart-largest"] == 2
    status = page.locator("[data-testid=container-status]")  # type: ignore[attr-defined]
    status.wait_for()
    assert status.inner_text() == "running"
    assert "listening on" in page.inner_text("[data-testid=registry-log]")  # type: ignore[attr-defined]

    page.click("a[data-range='7d']")  # type: ignore[attr-defined]
    page.wait_for_url("**/registry/?range=7d")  # type: ignore[attr-defined]
    assert page.evaluate(DRAWN, ["chart-memory"])[0]["points"] == 12  # type: ignore[attr-defined]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_an_operator_confirms_a_snapshot_pause_sees_the_banner_everywhere_and_resumes(
    page: Any, live_server: Any, operator: User, services: Any, celery_worker: object, width: int
) -> None:
    registry = services.registry
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, operator)
    try:
        page.goto(f"{live_server.url}/registry/")
        page.click("[data-testid=prepare-snapshot]")
        steps = page.locator("[data-testid=snapshot-steps]")
        steps.wait_for()
        assert "Storage & Snapshots" in steps.inner_text() and "Take a Snapshot" in steps.inner_text()
        assert registry.container.attrs["State"]["Paused"] is False  # nothing before the confirmation
        if os.environ.get("UX_SHOTS"):
            page.screenshot(path=os.path.join(os.environ["UX_SHOTS"], f"snapshot-confirm-{width}.png"), full_page=True)
        page.select_option("[data-testid=snapshot-seconds]", "300")
        page.click("[data-testid=pause-now]")
        countdown = page.locator("[data-testid=countdown]")
        countdown.wait_for()
        assert registry.container.attrs["State"]["Paused"] is True
        first = countdown.inner_text()
        page.wait_for_timeout(2100)
        assert countdown.inner_text() != first and countdown.inner_text().startswith("4:")  # 5 minutes, ticking

        # Every page shows the banner with its countdown and Resume now.
        page.goto(f"{live_server.url}/audit/")  # (the catalog waits for the paused registry)
        banner = page.locator("[data-testid=pause-banner]")
        assert banner.is_visible() and "paused for a snapshot" in banner.inner_text()
        page.wait_for_timeout(1100)
        assert page.inner_text("[data-testid=pause-countdown]").startswith("4:")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if os.environ.get("UX_SHOTS"):
            page.screenshot(path=os.path.join(os.environ["UX_SHOTS"], f"snapshot-banner-{width}.png"))
        page.click("[data-testid=resume-now]")
        page.locator("text=The registry is running again.").wait_for()
        assert registry.container.attrs["State"]["Paused"] is False
        assert page.locator("[data-testid=pause-banner]").count() == 0
    finally:
        if registry.container.attrs["State"]["Paused"]:
            registry.container.unpause()

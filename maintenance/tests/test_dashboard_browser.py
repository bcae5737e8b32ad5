"""The dashboard sums up diagnostics (failures first), storage, counts and the last GC (issue 17)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from jobs.models import Job
from maintenance import gc, stats_collector
from maintenance.models import StatsSample
from maintenance.tests.gc_helpers import delete_image, unique
from testenv.images import push_oci_image
from testenv.services import RegistryService

SHOTS = os.environ.get("UX_SHOTS", "")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_the_dashboard_puts_a_failed_diagnostic_on_top_and_the_figures_after_a_gc(
    page: Any, live_server: Any, viewer: User, private_registry: RegistryService, celery_worker: object, width: int
) -> None:
    private_registry.container.update(restart_policy={"Name": "no"})
    repo = unique("dash")
    digest = push_oci_image(private_registry.url, repo, "v1", layers=[os.urandom(100_000)])
    push_oci_image(private_registry.url, repo, "v2")
    delete_image(private_registry, repo, digest)
    stats_collector.collect()
    before = StatsSample.objects.get()
    job = Job.objects.create(kind=Job.Kind.GC, params={"dry_run": False, "delete_untagged": False, "mode": "online"})
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    after = StatsSample.objects.order_by("-collected_at").first()
    assert after.pk != before.pk and after.storage_bytes < before.storage_bytes  # measured again after the GC

    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)
    summary = page.locator("[data-testid=dashboard-diagnostics-summary]")
    summary.wait_for(timeout=20_000)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"dashboard-{width}.png"), full_page=True)
    assert "1 diagnostic check failed" in summary.inner_text()
    first = page.locator("[data-testid=dashboard-problems] li").first
    assert (
        "Failing: The restart policy is 'no', not always" in first.inner_text()
        and "docker update --restart=always" in first.inner_text()
    )
    assert "stays down after a reboot" in first.inner_text()
    storage = page.inner_text("[data-testid=dashboard-storage]")
    assert "on the registry's disk" in storage and "before the last garbage collection" not in storage
    content = page.inner_text("[data-testid=dashboard-content]")
    assert "1 tag" in content  # v2 only: v1's manifest was deleted
    assert "Freed " in page.inner_text("[data-testid=dashboard-last-gc]")
    assert "Recent activity" in page.inner_text("[data-testid=dashboard-activity]")
    assert page.evaluate("document.documentElement.scrollWidth") <= width

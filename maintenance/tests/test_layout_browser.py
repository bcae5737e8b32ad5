"""Every page fits its window at 1400 px and 390 px, and the phone's menu reaches every page (issue 17)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from conftest import browser_login
from core import audit
from jobs.models import Job
from testenv import images
from testenv.services import RegistryService

SHOTS = os.environ.get("UX_SHOTS", "")
INTERNAL_WORDS = ("the " + "seed", "Resolver404", "Traceback", "{{", "{%")


@pytest.fixture
def content(registry: RegistryService, admin_user: User) -> dict[str, str]:
    repo = f"layout/a-rather-long-repository-name-{uuid.uuid4().hex[:8]}"
    digest = images.push_oci_image(registry.url, repo, "2026.12.01-build-with-a-long-tag-name")
    audit.record(action="delete-tag", outcome="succeeded", repository=repo, tag="old", digest=digest, detail="x" * 300)
    job = Job.objects.create(
        kind=Job.Kind.GC,
        status=Job.Status.SUCCEEDED,
        params={"dry_run": True, "delete_untagged": False, "mode": "read-only"},
        output="\n".join(f"{repo}: marking manifest sha256:{'a' * 64}" for _ in range(50)),
        result={"blobs_marked": 3, "blobs_eligible": 0, "manifests_eligible": 0, "bytes_before": 52270},
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    return {"repo": repo, "tag": "2026.12.01-build-with-a-long-tag-name", "job": str(job.pk)}


def pages(content: dict[str, str]) -> list[str]:
    repo, tag = content["repo"], content["tag"]
    return [
        "/",
        "/catalog/",
        reverse("catalog:push-here"),
        f"/catalog/r/{repo}/",
        f"/catalog/r/{repo}/-/t/{tag}/",
        "/catalog/push-here/",
        "/catalog/protected-tags/",
        "/maintenance/",
        "/maintenance/storage/",
        f"/maintenance/jobs/{content['job']}/",
        "/retention/",
        "/registry/",
        "/registry/diagnostics/",
        "/audit/",
        "/nowhere/",
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_no_page_is_wider_than_its_window(
    page: Any, live_server: Any, admin_user: User, content: dict[str, str], celery_worker: object, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, admin_user)
    for number, path in enumerate(pages(content)):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, f"page-{number}-{width}.png"), full_page=True)
        title = page.title()
        assert title.endswith(" · registry-admin") and "<" not in title, (path, title)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{path} is {overflow} px wide at {width} px"
        body = page.inner_text("body")
        for word in INTERNAL_WORDS:
            assert word not in body, f"{word!r} on {path}"
        assert page.locator("link[rel=icon]").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_phone_menu_reaches_every_page_and_marks_the_current_one(
    page: Any, live_server: Any, admin_user: User
) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    browser_login(page, live_server, admin_user)
    from core.context_processors import NAV

    labels = [label for _, label in NAV]
    assert {"Dashboard", "Catalog", "Maintenance", "Registry", "Diagnostics", "Audit log"} <= set(labels)
    for label in labels:
        menu = page.locator("[data-testid=nav-menu]")
        assert menu.is_visible()
        menu.locator("summary").click()
        link = menu.locator("a", has_text=label)
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        link.click()
        page.wait_for_load_state()
        current = page.locator("[data-testid=nav-menu] a[aria-current=page]")
        assert current.count() == 1 and current.text_content() == label
    page.locator("[data-testid=nav-menu] summary").click()
    page.locator("[data-testid=nav-menu] button", has_text="Log out").click()
    page.wait_for_url("**/accounts/**")

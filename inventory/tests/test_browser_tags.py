"""In Chromium, a large tag table read from the inventory: paged with htmx, sorted on the server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from conftest import browser_login
from inventory import sync
from testenv import images


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_person_pages_and_sorts_a_large_tag_table(
    page: Any, live_server: Any, viewer: User, registry: Any, repo_prefix: str, width: int
) -> None:
    old = images.push_oci_image(registry.url, repo_prefix, "a000", created="2020-01-01T00:00:00Z")
    new = images.push_oci_image(registry.url, repo_prefix, "a001", created="2025-01-01T00:00:00Z", layer_count=2)
    for i in range(2, 230):
        images.tag_existing(registry.url, repo_prefix, f"a{i:03d}", old if i % 2 == 0 else new)
    sync.reconcile()
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)

    page.goto(f"{live_server.url}/catalog/r/{repo_prefix}/")
    rows = page.locator("[data-testid=tags] tbody tr")
    assert rows.count() == 100
    assert "Synced" in page.inner_text("[data-testid=freshness]")
    page.click("[data-testid=tag-page-next]")
    page.wait_for_url(re.compile(r"page=2"))
    page.wait_for_selector("tr[data-tag=a100]")
    assert rows.count() == 100 and rows.first.get_attribute("data-tag") == "a100"
    page.click("[data-testid=tag-page-next]")
    page.wait_for_selector("tr[data-tag=a229]")
    assert rows.count() == 30
    # Sorted by created, newest first: the odd tags (the 2025 image) lead, across all 230 tags.
    page.click("[data-sort=created]")
    page.wait_for_url(re.compile(r"sort=-created"))
    page.wait_for_selector("tbody tr:first-child[data-tag=a001]")
    first_page = [rows.nth(i).get_attribute("data-tag") for i in range(rows.count())]
    assert first_page == [f"a{i:03d}" for i in range(1, 230, 2)][:100]
    # The filter finds a tag that is on no page shown so far.
    page.fill("[data-testid=tag-filter]", "a22")
    page.wait_for_selector("tr[data-tag=a220]")
    expect(page.locator("[data-testid=tags] tbody tr")).to_have_count(10)
    assert "10 of 230 tags" in page.inner_text("[data-testid=tag-count]")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width == 390 or overflow <= 0

"""A person searches the catalog in Chromium, opens a repository and one of its images."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from benchmarks.seed import seed_repositories
from catalog.tests.conftest import read_into_inventory
from conftest import browser_login
from testenv import images


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_searches_the_catalog_and_opens_an_image(
    page: Any, live_server: Any, viewer: User, registry: Any, repo_prefix: str
) -> None:
    name = f"{repo_prefix}/team/app"
    seed_repositories(registry.url, [f"{repo_prefix}/team/other"])
    digest = images.push_oci_image(registry.url, name, "1.0", labels={"note": "<b>bold</b>"})
    read_into_inventory(name, f"{repo_prefix}/team/other")  # as a sync would
    browser_login(page, live_server, viewer)

    page.click("nav >> text=Catalog")
    page.fill("[data-testid=catalog-search]", f"{repo_prefix}/team/ap")
    # The search goes out as one types; htmx swaps the list and puts the search in the address.
    page.wait_for_url(re.compile(r"[?&]q="))
    page.wait_for_selector(f"#repositories a:text-is('{name}')")
    assert page.locator(f"#repositories a:text-is('{repo_prefix}/team/other')").count() == 0

    page.click(f"#repositories a:text-is('{name}')")
    page.click("[data-testid=tags] a:text-is('1.0')")

    assert page.inner_text("[data-testid=image-title]") == f"{name}:1.0"
    assert page.inner_text("[data-testid=digest]") == digest
    assert "<b>bold</b>" in page.inner_text("[data-testid=labels]")  # shown as text, not markup
    assert f"docker pull {registry.host_port}/{name}:1.0" in page.inner_text("[data-testid=pull-command]")

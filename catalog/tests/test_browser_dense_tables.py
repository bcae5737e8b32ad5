"""Issue 25: a repository's tag table can be scanned, measured in Chromium as a person sees it.

At 1400x900 at least 20 tag rows show above the fold, one line a row, the digest's copy icon
beside the digest; at 390 px the first screen shows tag rows, not filters.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from catalog.tests.conftest import read_into_inventory
from conftest import browser_login
from testenv import images

TAGS = 40


def _seed(registry: Any, name: str) -> str:
    digest = images.push_oci_image(registry.url, name, "1.0.0-with-a-rather-long-release-candidate-name")
    for i in range(TAGS - 1):
        images.tag_existing(registry.url, name, f"v{i:03d}", digest)
    read_into_inventory(name)
    return digest


def _rows(page: Any) -> list[dict[str, float]]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=tags] tbody tr')).map((row) => {
             const box = row.getBoundingClientRect();
             const code = row.querySelector('code.digest').getBoundingClientRect();
             const copy = row.querySelector('[data-copy]').getBoundingClientRect();
             return {top: box.top, bottom: box.bottom, height: box.height,
                     codeRight: code.right, codeTop: code.top, copyLeft: copy.left, copyTop: copy.top,
                     copyBottom: copy.bottom};
           })"""
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_twenty_tag_rows_show_above_the_fold_at_1400x900(
    page: Any, live_server: Any, operator: User, registry: Any, repo_prefix: str
) -> None:
    name = f"{repo_prefix}/dense"
    _seed(registry, name)
    page.set_viewport_size({"width": 1400, "height": 900})
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{name}/")
    rows = _rows(page)
    assert len(rows) == TAGS
    above = [row for row in rows if row["bottom"] <= 900]
    assert len(above) >= 20, f"{len(above)} rows above the fold; first row at y={rows[0]['top']}"
    # One line a row: every row as tall as the first, and no taller than a line and a bit.
    assert max(row["height"] for row in rows) <= 34, rows[0]
    for row in rows:
        # The copy icon sits inline, right after the short digest, on the same line.
        assert 0 <= row["copyLeft"] - row["codeRight"] <= 16 and row["copyTop"] < row["codeTop"] + 12
    # Nothing runs off to the right.
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert (
        page.evaluate(
            "(() => { const f = document.querySelector('[data-testid=tags]').closest('figure');"
            " return f.scrollWidth - f.clientWidth; })()"
        )
        <= 0
    )
    # Compact filters: the search and the kind are on one line.
    search = page.locator("[data-testid=tag-filter]").bounding_box()
    kind = page.locator("[data-testid=kind-filter]").bounding_box()
    assert abs(search["y"] - kind["y"]) < 8 and search["height"] < 40


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_first_screen_at_390_px_shows_tag_rows(
    page: Any, live_server: Any, operator: User, registry: Any, repo_prefix: str
) -> None:
    name = f"{repo_prefix}/dense"
    _seed(registry, name)
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{name}/")
    rows = _rows(page)
    visible = [row for row in rows if row["bottom"] <= 844]
    assert len(visible) >= 8, f"{len(visible)} rows on the first screen; first row at y={rows[0]['top']}"
    assert max(row["height"] for row in rows) <= 34
    for row in rows:
        assert 0 <= row["copyLeft"] - row["codeRight"] <= 16
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_filter_that_matches_nothing_says_so_in_a_sentence(
    page: Any, live_server: Any, viewer: User, registry: Any, repo_prefix: str
) -> None:
    name = f"{repo_prefix}/dense"
    images.push_oci_image(registry.url, name, "1.0")
    images.push_oci_image(registry.url, name, "2.0")
    read_into_inventory(name)
    page.set_viewport_size({"width": 1400, "height": 900})
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/catalog/r/{name}/?kind=index")
    assert page.inner_text("[data-testid=tag-count]") == "0 of 2 tags are of kind index."
    page.goto(f"{live_server.url}/catalog/r/{name}/?q=1.")
    assert page.inner_text("[data-testid=tag-count]") == "1 of 2 tags matches “1.”."
    page.goto(f"{live_server.url}/catalog/r/{name}/?q=.0&kind=image")
    assert page.inner_text("[data-testid=tag-count]") == "2 of 2 tags match “.0” and are of kind image."

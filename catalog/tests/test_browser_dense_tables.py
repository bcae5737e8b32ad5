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
@pytest.mark.parametrize(("width", "height", "least"), [(1400, 900, 20), (390, 844, 8)], ids=["1400x900", "390x844"])
def test_tag_rows_fill_the_first_screen(
    page: Any, live_server: Any, operator: User, registry: Any, repo_prefix: str, width: int, height: int, least: int
) -> None:
    """At least 20 rows above the fold at 1400x900, 8 at 390 px: one line a row, the copy icon
    inline right after the short digest, nothing running off to the right."""
    name = f"{repo_prefix}/dense"
    _seed(registry, name)
    page.set_viewport_size({"width": width, "height": height})
    browser_login(page, live_server, operator)
    page.goto(f"{live_server.url}/catalog/r/{name}/")
    rows = _rows(page)
    assert len(rows) == TAGS
    above = [row for row in rows if row["bottom"] <= height]
    assert len(above) >= least, f"{len(above)} rows on the first screen; first row at y={rows[0]['top']}"
    # One line a row: no row taller than a line and a bit.
    assert max(row["height"] for row in rows) <= 34, rows[0]
    for row in rows:
        assert 0 <= row["copyLeft"] - row["codeRight"] <= 16
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    if width < 1400:
        return
    # On a wide screen the icon is on the digest's line, the table does not scroll sideways, and
    # the filters are compact: the search and the kind on one line.
    assert all(row["copyTop"] < row["codeTop"] + 12 for row in rows)
    assert (
        page.evaluate(
            "(() => { const f = document.querySelector('[data-testid=tags]').closest('figure');"
            " return f.scrollWidth - f.clientWidth; })()"
        )
        <= 0
    )
    search = page.locator("[data-testid=tag-filter]").bounding_box()
    kind = page.locator("[data-testid=kind-filter]").bounding_box()
    assert abs(search["y"] - kind["y"]) < 8 and search["height"] < 40


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

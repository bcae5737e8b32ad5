"""In Chromium: the Activity page filters the registry's events as one types (1400 and 390 px)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from conftest import browser_login
from inventory.models import Event


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_person_filters_the_activity(page: Any, live_server: Any, viewer: User, width: int) -> None:
    now = datetime.now(UTC)
    for i in range(30):
        Event.objects.create(
            event_id=f"e{i}",
            timestamp=now - timedelta(minutes=i),
            action="pull" if i % 3 else "push",
            repository="team/app" if i % 2 else "team/<script>",
            tag=f"v{i}",
            actor="ci" if i % 3 == 0 else "",
            address=f"10.0.0.{i}:5000",
            user_agent="docker/24",
            processed=True,
        )
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/activity/")
    rows = page.locator("[data-testid=activity-table] tbody tr")
    assert rows.count() == 30
    assert "team/<script>" in page.inner_text("[data-testid=activity-table]")  # text, not markup
    if width < 900:  # phones: the filters are folded so that the first screen shows events
        page.click("[data-testid=activity-filters] summary")
    page.select_option("select[name=action]", "push")
    page.wait_for_url(re.compile(r"action=push"))
    expect(page.locator("[data-testid=activity-table] tbody tr")).to_have_count(10)
    page.fill("input[name=repository]", "team/app")
    expect(page.locator("[data-testid=activity-table] tbody tr")).to_have_count(5)
    assert all(rows.nth(i).get_attribute("data-action") == "push" for i in range(5))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width == 390 or overflow <= 0


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/octet-stream"
CLIENT = (
    "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.1.0-28-amd64 os/linux arch/amd64 "
    "UpstreamClient(Docker-Client/27.3.1 \\(linux\\))"
)


def _client_pull(n: int, when: datetime, repository: str, tag: str, digest: str, address: str) -> None:
    """What the registry sends for one `docker pull`: HEAD by tag, GET by digest, a GET per blob."""
    steps = [("HEAD", OCI_MANIFEST, tag, digest, 900)]
    steps += [("GET", OCI_MANIFEST, "", digest, 900)]
    steps += [("GET", LAYER, "", f"sha256:{n:02d}{i:062d}", 1_000_000 * (i + 1)) for i in range(3)]
    for i, (method, media_type, event_tag, event_digest, size) in enumerate(steps):
        Event.objects.create(
            event_id=f"pull{n}-{i}",
            timestamp=when + timedelta(milliseconds=200 * i),
            action="pull",
            repository=repository,
            tag=event_tag,
            digest=event_digest,
            media_type=media_type,
            size=size,
            method=method,
            address=f"{address}:{40000 + n}",
            host=address,
            user_agent=CLIENT,
            processed=True,
        )


def _rows(page: Any) -> Any:
    return page.locator("[data-testid=activity-table] tbody tr")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_docker_pull_is_one_row_and_the_page_fits_its_window(
    page: Any, live_server: Any, viewer: User, width: int
) -> None:
    """Issue 25: every `docker pull` was five rows (HEAD, GET, one per blob) in a table 2,749 px
    wide; at 390 px the filters filled the first screen."""
    now = datetime.now(UTC)
    name = "a-team-with-a-long-name/an-application-with-a-long-name/backend-service"
    for n in range(12):
        _client_pull(
            n, now - timedelta(minutes=n), name, f"release-2026.12.{n:02d}-rc1", f"sha256:{n:064d}", "192.168.100.23"
        )
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/activity/")
    rows = _rows(page)
    expect(rows).to_have_count(12)
    first = rows.first
    text = " ".join(first.inner_text().split())
    assert "HEAD+GET" in text, text
    assert "release-2026.12.00-rc1" in text, text
    assert "+ 3 blobs" in text, text
    assert "5.7 MB" in text  # the three blobs' bytes
    assert first.get_attribute("data-grouped") == "2" and first.get_attribute("data-blobs") == "3"
    if width == 1400:
        # No sideways scroll: neither the page nor the table's own box.
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        figure = "document.querySelector('[data-testid=activity-table]').closest('figure')"
        assert page.evaluate(f"{figure}.scrollWidth - {figure}.clientWidth") <= 0
        assert max(rows.nth(i).bounding_box()["height"] for i in range(12)) <= 30  # one line a row
    else:
        # The first screen shows events, the filters are one folded line.
        assert not page.locator("select[name=action]").is_visible()
        assert rows.nth(2).bounding_box()["y"] + 30 <= 900
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    # Blob requests one by one, when asked for.
    page.click("[data-testid=toggle-blobs]")
    page.wait_for_url(re.compile(r"blobs=on"))
    expect(rows).to_have_count(60)
    assert rows.filter(has_text="blob").count() == 36
    page.click("[data-testid=toggle-blobs]")
    expect(rows).to_have_count(12)

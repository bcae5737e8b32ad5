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
    page.select_option("select[name=action]", "push")
    page.wait_for_url(re.compile(r"action=push"))
    expect(page.locator("[data-testid=activity-table] tbody tr")).to_have_count(10)
    page.fill("input[name=repository]", "team/app")
    expect(page.locator("[data-testid=activity-table] tbody tr")).to_have_count(5)
    assert all(rows.nth(i).get_attribute("data-action") == "push" for i in range(5))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width == 390 or overflow <= 0

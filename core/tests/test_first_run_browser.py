"""Issue 25's first run in Chromium, at 1400 and 390 px: the setup page with a registry address that
does not answer, the admin's Test connection, an action disabled with its reason, then the real
registry (v3.1.1 at one width, 2.8.2 at the other) and the setup page gone."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from conftest import browser_login
from core.tests.test_first_run import closed_port_url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "which"), [(1400, "registry"), (390, "registry_v2")])
def test_a_first_run_reads_the_setup_page_tests_an_address_and_then_sees_the_registry(
    page: Any, live_server: Any, admin_user: User, settings: Any, request: pytest.FixtureRequest, width: int, which: str
) -> None:
    real = request.getfixturevalue(which)
    page.set_viewport_size({"width": width, "height": 900})
    down = closed_port_url()
    settings.REGISTRY_URL = down
    browser_login(page, live_server, admin_user)

    setup = page.wait_for_selector("#setup", timeout=30_000)
    text = setup.inner_text()
    assert "REGISTRY_URL is an environment variable of the dashboard's container" in text
    assert "Container Station" in text and ".env" in text and "Restart the dashboard's container" in text
    assert "inside a container localhost is the dashboard itself" in text
    assert page.inner_text("[data-testid=setup-registry-url]") == down
    # Readable where it is: no sideways scroll, the section starts within the first two screens.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert setup.bounding_box()["y"] < 2 * 900
    # The health card points to the section rather than repeating its advice.
    assert "see Set up above" in page.inner_text("article[data-check=registry]")

    # Test connection: a non-http scheme is refused naming the field, the real registry is found.
    box = page.locator("#setup #id_connection_url")
    box.fill("ftp://192.168.1.10:5000")
    page.locator("#setup button", has_text="Test connection").click()
    error = page.wait_for_selector("#setup [data-testid=connection-error]")
    assert "Registry address (url): Only http:// and https://" in error.inner_text()
    page.locator("#setup #id_connection_url").fill(down)
    page.locator("#setup button", has_text="Test connection").click()
    refused = page.wait_for_selector("#setup [data-testid=connection-result][data-outcome=refused]")
    assert "Connection refused" in refused.inner_text()
    page.locator("#setup #id_connection_url").fill(real.url)
    page.locator("#setup button", has_text="Test connection").click()
    found = page.wait_for_selector("#setup [data-testid=connection-result][data-outcome=registry]")
    assert "A Distribution registry answered" in found.inner_text()
    assert page.inner_text("[data-testid=setup-registry-url]") == down  # tried, never saved

    # An action that needs the registry is disabled, its reason beside it.
    page.goto(f"{live_server.url}/registry/")
    verify = page.locator("[data-testid=verify-registry]")
    assert verify.is_disabled()
    reason = page.locator("#why-verify")
    assert reason.is_visible() and "The registry cannot be reached" in reason.inner_text()
    assert verify.get_attribute("aria-describedby") == "why-verify"

    # The registry set and the dashboard restarted: no setup section, the action back.
    settings.REGISTRY_URL = real.url
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("article[data-check=registry]", timeout=30_000)
    assert "OK" in page.inner_text("article[data-check=registry]")
    assert page.locator("#setup").count() == 0
    page.goto(f"{live_server.url}/registry/")
    assert page.locator("[data-testid=verify-registry]").is_enabled()
    assert page.locator("#why-verify").count() == 0

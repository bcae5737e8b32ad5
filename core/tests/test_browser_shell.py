"""A person logs in with Chromium and sees the dashboard shell with its health cards."""

import pytest
from django.contrib.auth.models import User

from conftest import browser_login


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_logs_in_and_sees_the_health_of_registry_engine_and_broker(
    page: object, live_server: object, viewer: User, celery_worker: object
) -> None:
    browser_login(page, live_server, viewer)
    page.wait_for_selector("article[data-check=registry]")  # type: ignore[attr-defined]
    registry = page.inner_text("article[data-check=registry]")  # type: ignore[attr-defined]
    broker = page.inner_text("article[data-check=broker]")  # type: ignore[attr-defined]
    docker = page.inner_text("article[data-check=docker]")  # type: ignore[attr-defined]
    assert "OK" in registry and "OK" in broker
    assert "OK" in docker and "running" in docker
    assert page.locator("[data-testid=registry-banner]").count() == 0  # type: ignore[attr-defined]
    assert "vera" in page.inner_text("header")  # type: ignore[attr-defined]

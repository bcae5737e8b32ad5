"""GET /api/v1/events/ and the Activity page; the Registry page's events setup."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from inventory import services
from inventory.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.database]  # the inventory: also on PostgreSQL

FIELDS = {
    "id",
    "timestamp",
    "action",
    "repository",
    "tag",
    "digest",
    "media_type",
    "size",
    "actor",
    "address",
    "user_agent",
}


def _event(n: int, action: str, repo: str, when: datetime, **extra: Any) -> Event:
    return Event.objects.create(
        event_id=f"e{n}", timestamp=when, action=action, repository=repo, processed=True, **extra
    )


@pytest.fixture
def some_events() -> datetime:
    now = datetime.now(UTC)
    _event(1, "push", "app", now - timedelta(days=2), tag="v1", actor="ci", address="10.0.0.1:5", size=10)
    _event(2, "pull", "app", now - timedelta(hours=1), tag="v1", user_agent="docker/24")
    _event(3, "delete", "other", now - timedelta(minutes=1), digest="sha256:" + "a" * 64)
    return now


def test_the_api_lists_newest_first_with_the_fields_and_filters(viewer_client: Client, some_events: datetime) -> None:
    body = viewer_client.get("/api/v1/events/").json()
    assert body["count"] == 3
    assert [e["id"] for e in body["results"]] == ["e3", "e2", "e1"]
    assert set(body["results"][0]) == FIELDS
    assert body["results"][2]["actor"] == "ci" and body["results"][2]["size"] == 10
    assert [e["id"] for e in viewer_client.get("/api/v1/events/?repository=app").json()["results"]] == ["e2", "e1"]
    assert [e["id"] for e in viewer_client.get("/api/v1/events/?action=push").json()["results"]] == ["e1"]
    since = (some_events - timedelta(hours=2)).isoformat()
    found = viewer_client.get("/api/v1/events/", {"since": since}).json()["results"]
    assert [e["id"] for e in found] == ["e3", "e2"]
    assert viewer_client.get("/api/v1/events/?page_size=1").json()["next"]


def test_bad_filters_are_400_json(viewer_client: Client) -> None:
    assert viewer_client.get("/api/v1/events/?action=nope").status_code == 400
    answer = viewer_client.get("/api/v1/events/?since=yesterday")
    assert answer.status_code == 400
    assert "since" in answer.json()


def test_the_api_needs_a_login() -> None:
    assert Client().get("/api/v1/events/").status_code in (401, 403)


def test_the_activity_page_filters(viewer_client: Client, some_events: datetime) -> None:
    page = viewer_client.get("/activity/").content.decode()
    assert page.count("<tr data-action=") == 3
    page = viewer_client.get("/activity/?action=pull").content.decode()
    assert page.count("<tr data-action=") == 1 and 'data-action="pull"' in page
    page = viewer_client.get("/activity/?address=10.0.0").content.decode()
    assert page.count("<tr data-action=") == 1
    assert viewer_client.get("/activity/?since=garbage").status_code == 400
    assert Client().get("/activity/").status_code == 302


def test_the_registry_page_says_how_to_turn_events_on(admin_client_role: Client, settings: Any) -> None:
    settings.REGISTRY_EVENTS_TOKEN = ""
    page = admin_client_role.get("/registry/").content.decode()
    assert 'data-testid="events-off"' in page
    start = page.index('data-testid="notifications-setting">') + len('data-testid="notifications-setting">')
    value = page[start : page.index("</code>", start)].removeprefix("REGISTRY_NOTIFICATIONS_ENDPOINTS=")
    import html

    endpoints = json.loads(html.unescape(value))
    assert endpoints[0]["url"] == "http://testserver/api/v1/events/"
    token = endpoints[0]["headers"]["Authorization"][0].removeprefix("Bearer ")
    assert f"REGISTRY_EVENTS_TOKEN={token}" in page
    assert html.unescape(value) == services.notifications_setting("http://testserver/api/v1/events/", token)


def test_a_configured_token_is_never_shown(admin_client_role: Client, settings: Any) -> None:
    settings.REGISTRY_EVENTS_TOKEN = "do-not-show-me"
    page = admin_client_role.get("/registry/").content.decode()
    assert "do-not-show-me" not in page
    assert "notifications are on" in page


def test_the_suggested_events_token_is_made_once_and_kept(
    admin_client_role: Client, settings: Any, tmp_path: Any
) -> None:
    """Issue 25: the suggested REGISTRY_EVENTS_TOKEN changed on every load of the page."""
    settings.REGISTRY_EVENTS_TOKEN = ""
    settings.DATA_DIR = tmp_path

    def suggested() -> str:
        page = admin_client_role.get("/registry/").content.decode()
        start = page.index("REGISTRY_EVENTS_TOKEN=") + len("REGISTRY_EVENTS_TOKEN=")
        return page[start : page.index("<", start)].strip()

    first = suggested()
    assert len(first) >= 40 and suggested() == first == suggested()
    kept = tmp_path / services.SUGGESTION_FILE
    assert kept.read_text() == first and kept.stat().st_mode & 0o777 == 0o600

"""Events gaps: recorded whenever the registry's events cannot be trusted to have arrived, shown
in the API, the Registry page and the dashboard, closed when events flow again."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from inventory import events, gaps, receiving
from inventory.models import EventsGap, EventsState
from registry_client.client import OCI_MANIFEST

pytestmark = [pytest.mark.django_db]
TOKEN = "gaps-events-token"
V2 = "application/vnd.docker.distribution.events.v2+json"


@pytest.fixture(autouse=True)
def _token(settings: Any) -> None:
    settings.REGISTRY_EVENTS_TOKEN = TOKEN


def pull(when: datetime, instance: str = "one") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": when.isoformat().replace("+00:00", "Z"),
        "action": "pull",
        "target": {"mediaType": OCI_MANIFEST, "repository": "team/app", "tag": "v1", "digest": "sha256:" + "1" * 64},
        "request": {"addr": "10.0.0.5:4242", "method": "HEAD", "useragent": "docker/24"},
        "source": {"instanceID": instance},
    }


def post(*items: dict[str, Any], token: str = TOKEN) -> Any:
    return Client().post(
        "/api/v1/events/",
        data=json.dumps({"events": list(items)}),
        content_type=V2,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_restarted_container_is_a_gap_from_the_last_event_to_its_start() -> None:
    began = datetime.now(UTC) - timedelta(minutes=10)
    assert gaps.container_seen("c1", began) is None  # the first look
    post(pull(began + timedelta(minutes=1)))
    events.apply_pending()
    assert gaps.container_seen("c1", began) is None  # the same container, not restarted
    restart = began + timedelta(minutes=5)
    gap = gaps.container_seen("c1", restart)
    assert gap is not None and "restarted" in gap.reason
    assert (gap.started, gap.ended) == (began + timedelta(minutes=1), restart)
    # The first event of its new process is the same restart seen again: one gap, not two.
    post(pull(restart + timedelta(seconds=30), instance="two"))
    assert events.apply_pending().gaps
    assert EventsGap.objects.count() == 1
    recreated = gaps.container_seen("c2", restart + timedelta(hours=1))
    assert recreated is not None and "recreated" in recreated.reason
    assert EventsGap.objects.count() == 2


def test_a_container_seen_before_any_event_records_nothing() -> None:
    gaps.container_seen("c1", datetime.now(UTC) - timedelta(hours=1))
    assert gaps.container_seen("c1", datetime.now(UTC)) is None  # no events tracked yet: nothing lost
    assert not EventsGap.objects.exists()


def test_events_turned_off_after_being_tracked_is_an_open_gap_until_they_flow_again(settings: Any) -> None:
    post(pull(datetime.now(UTC) - timedelta(hours=1)))
    events.apply_pending()
    settings.REGISTRY_EVENTS_TOKEN = ""
    assert gaps.watch(None)
    assert gaps.watch(None) == []  # once
    gap = EventsGap.objects.get()
    assert gap.ended is None and "REGISTRY_EVENTS_TOKEN" in gap.reason
    settings.REGISTRY_EVENTS_TOKEN = TOKEN
    back = datetime.now(UTC)
    post(pull(back))
    events.apply_pending()
    gap.refresh_from_db()
    assert gap.ended == back


def test_refused_posts_of_the_registry_are_counted_and_become_a_gap() -> None:
    receiving.take_refused_since()  # nothing left by an earlier test
    before = receiving.refused(1)
    assert post(pull(datetime.now(UTC)), token="wrong").status_code == 401
    assert receiving.refused(1) == before + 1
    since = receiving.take_refused_since()
    assert since is not None
    assert receiving.take_refused_since() is None  # taken once
    found = gaps.watch(since)
    assert len(found) == 1 and "refused" in found[0].reason and found[0].ended is None


def test_the_health_endpoint_says_what_arrives_and_the_gaps(viewer_client: Client) -> None:
    now = datetime.now(UTC)
    post(pull(now - timedelta(seconds=5)))
    answer = viewer_client.get("/api/v1/events/health/")
    assert answer.status_code == 200
    health = answer.json()
    assert health["received_last_minute"] == 1 and health["pending"] == 1 and health["lag_seconds"] >= 0
    assert health["trusted"] is False and health["tracking_since"] is None
    events.apply_pending()
    health = viewer_client.get("/api/v1/events/health/").json()
    assert health["pending"] == 0 and health["trusted"] is True and health["tracking_since"]
    gaps.record(now - timedelta(minutes=3), now - timedelta(minutes=1), "The registry restarted.")
    health = viewer_client.get("/api/v1/events/health/").json()
    assert health["trusted"] is False
    assert (
        health["open_gaps"][0]["reason"] == "The registry restarted." and health["open_gaps"][0]["reconciled"] is None
    )
    assert Client().get("/api/v1/events/health/").status_code in (401, 403)


def test_the_registry_page_and_the_dashboard_show_an_open_gap(viewer_client: Client) -> None:
    now = datetime.now(UTC)
    post(pull(now))
    events.apply_pending()
    summary = viewer_client.get("/maintenance/summary/", HTTP_HX_REQUEST="true")
    assert summary.status_code == 200 and b'data-testid="events-gap"' not in summary.content
    gaps.record(now - timedelta(minutes=3), None, "Events are off.")
    summary = viewer_client.get("/maintenance/summary/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="events-gap"' in summary and "banner-warning" in summary and "Events are off." in summary
    page = viewer_client.get("/registry/").content.decode()
    assert 'data-testid="events-health"' in page and "Events are off." in page and "still open" in page


def test_the_registry_page_shows_since_when_pulls_are_counted_like_its_other_times(
    viewer_client: Client,
) -> None:
    import re

    from django.utils import timezone

    began = datetime.now(UTC) - timedelta(hours=3, minutes=5)
    EventsState.objects.update_or_create(pk=1, defaults={"tracking_since": began})
    gaps.record(began + timedelta(minutes=30), began + timedelta(hours=1), "The registry restarted.")
    page = viewer_client.get("/registry/").content.decode()
    since = re.search(r'data-testid="events-since">(.*?)</td>', page)
    assert since is not None
    assert re.sub(r"<[^>]+>", "", since.group(1)) == "3\xa0hours ago"  # naturaltime, not the ISO text
    assert f'datetime="{began.astimezone(timezone.get_current_timezone()):%Y-%m-%dT%H:%M:%S}' in since.group(1)
    gap_row = re.search(r'data-testid="events-gaps">.*?</table>', page, re.S)
    assert gap_row is not None and "2\xa0hours ago" in gap_row.group(0) and "+00:00</time>" not in gap_row.group(0)


def test_a_reconcile_that_began_after_a_gap_covers_it() -> None:
    now = datetime.now(UTC)
    gap = gaps.record(now - timedelta(minutes=3), now, "The registry restarted.")
    assert gaps.reconciled(now - timedelta(hours=1)) == 0  # began before it was detected
    assert gaps.reconciled(datetime.now(UTC)) == 1
    gap.refresh_from_db()
    assert gap.reconciled is not None
    assert EventsState.current().tracking_since is None


def test_pull_counts_say_since_when_they_are_complete(viewer_client: Client, monkeypatch: Any) -> None:
    from inventory.models import Repository

    Repository.objects.create(name="team/since")

    def since() -> Any:
        monkeypatch.setattr(gaps, "_since_cache", (0.0, None))  # the API reads it at most every 2 s
        rows = viewer_client.get("/api/v1/repositories/").json()["results"]
        return next(row for row in rows if row["name"] == "team/since")["pulls_since"]

    assert since() is None  # nothing tracked yet
    began = datetime.now(UTC) - timedelta(days=3)
    EventsState.objects.update_or_create(pk=1, defaults={"tracking_since": began})
    assert since() == began.isoformat()
    ended = began + timedelta(days=1)
    gaps.record(ended - timedelta(hours=1), ended, "The registry restarted.")
    assert since() == ended.isoformat()  # the end of the last gap
    gaps.record(datetime.now(UTC) - timedelta(minutes=1), None, "Events are off.")
    assert since() is None  # an open gap proves nothing

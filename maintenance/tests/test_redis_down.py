"""Redis stopped for real: pages and read endpoints answer from the database and the registry,
say that jobs cannot be queued, and starting a job answers 503 naming REDIS_URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from core.tests.faults import PrivateRedis, dashboard_on
from inventory import sync
from jobs.models import Job
from testenv import images


@pytest.fixture
def redis_down(services: Any, settings: Any, tmp_path: Path) -> Iterator[PrivateRedis]:
    """The dashboard on a private Redis, which is then stopped."""
    private = PrivateRedis(tmp_path / "redis")
    with dashboard_on(private.url, settings):
        private.stop()
        try:
            yield private
        finally:
            private.stop()


@pytest.fixture
def pushed(registry: Any) -> str:
    name = f"faults/redis-{time.monotonic_ns() % 10**8}"
    images.push_oci_image(registry.url, name, "1.0")
    return name


def test_every_page_answers_200_with_a_banner_when_redis_is_stopped(
    redis_down: PrivateRedis, pushed: str, viewer_client: Client
) -> None:
    job = Job.objects.create(kind=Job.Kind.STATS)
    pages = ["/", "/catalog/", f"/catalog/r/{pushed}/", f"/catalog/r/{pushed}/-/t/1.0/", "/maintenance/", "/audit/"]
    pages += ["/registry/", "/registry/diagnostics/", f"/maintenance/jobs/{job.pk}/"]
    for url in pages:
        page = viewer_client.get(url)
        html = page.content.decode()
        assert page.status_code == 200, (url, html[:500])
        assert 'data-testid="redis-banner"' in html, url
        assert "jobs cannot be queued" in html and "REDIS_URL" in html and redis_down.url in html, url
    assert pushed in viewer_client.get("/catalog/", {"q": pushed}).content.decode()


def test_read_endpoints_answer_200_with_a_warning_when_redis_is_stopped(
    redis_down: PrivateRedis, pushed: str, viewer_client: Client
) -> None:
    for url in (
        "/api/v1/repositories/",
        f"/api/v1/repositories/{pushed}/tags/",
        "/api/v1/jobs/",
        "/api/v1/schedules/",
        "/api/v1/stats/",
    ):
        answer = viewer_client.get(url)
        assert answer.status_code == 200, (url, answer.content[:300])
        body = answer.json()
        assert any("jobs cannot be queued" in w and "REDIS_URL" in w for w in body["warnings"]), url
    names = [repo["name"] for repo in viewer_client.get("/api/v1/repositories/").json()["results"]]
    assert pushed in names
    # The diagnostics' own "warnings" is a count (a contract): the problem goes beside it.
    answer = viewer_client.get("/api/v1/diagnostics/")
    assert answer.status_code == 200, answer.content[:300]
    assert isinstance(answer.json()["warnings"], int)
    assert any("REDIS_URL" in w for w in answer.json()["dashboard_warnings"])


def test_a_dead_redis_costs_milliseconds_not_timeouts(
    redis_down: PrivateRedis, pushed: str, viewer_client: Client
) -> None:
    viewer_client.get(f"/api/v1/repositories/{pushed}/tags/")  # the first call finds Redis gone
    started = time.monotonic()
    for _ in range(5):
        assert viewer_client.get(f"/api/v1/repositories/{pushed}/tags/").status_code == 200
    assert (time.monotonic() - started) / 5 < 0.5


def test_starting_a_job_answers_503_naming_redis_url_and_leaves_no_queued_job(
    transactional_db: None, redis_down: PrivateRedis, operator_client: Client
) -> None:
    before = Job.objects.count()
    gc = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    # The API reads JSON only (a form body is 415): bodiless calls say so, as a script's would.
    stats = operator_client.post("/api/v1/stats/collect/", content_type="application/json")
    pause = operator_client.post("/api/v1/registry/pause/", content_type="application/json")
    for answer in (gc, stats, pause):
        assert answer.status_code == 503, answer.content[:300]
        assert "REDIS_URL" in answer.json()["detail"]
    assert not Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists()
    failed = Job.objects.get(kind=Job.Kind.STATS)  # a job that could not be sent is kept, as failed
    assert failed.status == Job.Status.FAILED and "REDIS_URL" in failed.error
    assert Job.objects.count() - before == 1
    for url, data in (("/maintenance/gc/", {"mode": "read-only", "dry_run": "on"}), ("/registry/stats/collect/", {})):
        page = operator_client.post(url, data)
        assert page.status_code == 503 and "REDIS_URL" in page.content.decode(), url


def test_the_cache_comes_back_with_redis(redis_down: PrivateRedis, pushed: str, viewer_client: Client) -> None:
    from django.core.cache import caches

    from core import cache as degrading

    assert viewer_client.get("/api/v1/repositories/").json().get("warnings")
    redis_down.start()
    caches["default"].state.down_until = 0.0  # no need to wait out the retry pause in a test
    answer = viewer_client.get("/api/v1/repositories/").json()
    assert "warnings" not in answer
    assert degrading.problem() is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 390])
def test_a_person_sees_the_redis_banner_and_the_catalog_in_chromium(
    redis_down: PrivateRedis, pushed: str, page: Any, live_server: Any, viewer: Any, width: int
) -> None:
    from conftest import browser_login

    assert sync.sync_repository(pushed)  # the catalog lists what the inventory holds, as a sync leaves it
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, live_server, viewer)
    page.goto(f"{live_server.url}/catalog/?q={pushed}")
    banner = page.locator("[data-testid=redis-banner]")
    assert banner.is_visible() and "jobs cannot be queued" in banner.inner_text()
    box = banner.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # no sideways scrolling
    assert page.locator(f'a[href="/catalog/r/{pushed}/"]').is_visible()

"""Prepare for snapshot: the registry pauses, resumes by itself, and refuses exec (GC) meanwhile.

These tests pause the shared ``registry`` container: each one unpauses it in ``finally``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditEntry
from maintenance import engine, registry_container, snapshot
from maintenance.models import RegistryPause
from maintenance.tasks import resume_overdue_pause


@pytest.fixture
def shared_registry(services: object) -> Iterator[object]:
    """The shared registry container, unpaused again whatever the test did."""
    yield services.registry.container  # type: ignore[attr-defined]
    live = services.registry.container  # type: ignore[attr-defined]
    if live.attrs["State"]["Paused"]:
        live.unpause()


def _is_paused(services: object) -> bool:
    return bool(services.registry.container.attrs["State"]["Paused"])  # type: ignore[attr-defined]


def _wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.25)
    return False


@pytest.mark.django_db(transaction=True)
def test_it_pauses_then_resumes_by_itself_at_the_deadline(
    operator_client: Client, services: object, shared_registry: object, celery_worker: object
) -> None:
    response = operator_client.post("/api/v1/registry/pause/", {"seconds": 3}, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paused"
    assert _is_paused(services)
    pause = RegistryPause.objects.get()
    assert pause.is_active and pause.paused_by is not None
    assert 2 <= (pause.deadline - pause.paused_at).total_seconds() <= 4
    assert AuditEntry.objects.filter(action="registry-pause", outcome="succeeded").exists()

    assert _wait_until(lambda: not _is_paused(services), timeout=20), "the countdown task did not resume it"
    pause.refresh_from_db()
    assert pause.resumed_how == "timer" and pause.resumed_at is not None
    resumed = AuditEntry.objects.filter(action="registry-unpause", outcome="succeeded", detail__contains="timer")
    assert _wait_until(resumed.exists, timeout=5)


@pytest.mark.django_db(transaction=True)
def test_the_resume_button_ends_the_pause_early(
    operator_client: Client, services: object, shared_registry: object, celery_worker: object
) -> None:
    assert operator_client.post("/api/v1/registry/pause/", content_type="application/json").status_code == 200
    pause = RegistryPause.objects.get()
    assert (pause.deadline - pause.paused_at).total_seconds() == pytest.approx(600, abs=2)  # SNAPSHOT_PAUSE_SECONDS

    page = operator_client.get("/registry/", headers={"HX-Request": "true"})
    assert b'data-testid="countdown"' in page.content and b"Resume" in page.content

    response = operator_client.post("/registry/actions/unpause/", follow=True)
    assert b"running again" in response.content
    assert not _is_paused(services)
    pause.refresh_from_db()
    assert pause.resumed_how == "button"


@pytest.mark.django_db(transaction=True)
def test_the_watchdog_resumes_a_pause_past_its_deadline_whose_timer_was_lost(
    services: object, shared_registry: object
) -> None:
    shared_registry.pause()  # type: ignore[attr-defined]
    pause = RegistryPause.objects.create(deadline=timezone.now() - timedelta(seconds=1), container="registry")
    waiting = RegistryPause.objects.create(deadline=timezone.now() + timedelta(hours=1), container="registry")

    resume_overdue_pause()

    assert not _is_paused(services)
    pause.refresh_from_db()
    waiting.refresh_from_db()
    assert pause.resumed_how == "watchdog"
    assert waiting.is_active  # not due yet: the watchdog leaves it


@pytest.mark.django_db(transaction=True)
def test_a_paused_registry_refuses_exec_with_a_clear_message(services: object, shared_registry: object) -> None:
    client = engine.connect()
    try:
        assert engine.is_paused(client) is False
        engine.require_running(engine.get_registry_container(client))  # running: no error
        shared_registry.pause()  # type: ignore[attr-defined]
        assert engine.is_paused(client) is True
        with pytest.raises(engine.EngineError) as refused:
            engine.require_running(engine.get_registry_container(client))
        assert "is paused" in refused.value.message and "Resume it" in refused.value.message
        with pytest.raises(engine.EngineError) as exec_refused:
            registry_container.measure_storage(client, "/var/lib/registry")
        assert "is paused" in exec_refused.value.message
    finally:
        client.close()


@pytest.mark.django_db
def test_viewers_may_not_pause_unpause_or_restart(viewer_client: Client) -> None:
    for action in ("pause", "unpause", "restart"):
        response = viewer_client.post(f"/api/v1/registry/{action}/")
        assert response.status_code == 403
        assert "operator" in response.json()["detail"]
        assert viewer_client.post(f"/registry/actions/{action}/").status_code == 403


@pytest.mark.django_db
def test_it_refuses_a_pause_length_out_of_range(operator_client: Client) -> None:
    for bad in (0, -5, "soon", 10**7):
        response = operator_client.post("/api/v1/registry/pause/", {"seconds": bad}, content_type="application/json")
        assert response.status_code == 400
        assert "seconds" in response.json()
    assert snapshot.pause_seconds("42") == 42


@pytest.mark.django_db(transaction=True)
def test_statistics_of_a_paused_registry_keep_memory_and_say_what_was_skipped(
    services: object, shared_registry: object
) -> None:
    from maintenance import stats_collector

    shared_registry.pause()  # type: ignore[attr-defined]
    sample = stats_collector.collect()

    assert sample.memory_bytes and sample.memory_bytes > 0
    assert sample.storage_bytes is None and sample.tag_count is None
    assert any("paused" in error for error in sample.errors)
    seen = snapshot.recorded_snapshot()
    assert seen is not None and seen["status"] == "paused"


@pytest.mark.django_db(transaction=True)
def test_an_operator_restarts_the_registry_which_comes_back_and_answers(
    operator_client: Client, services: object, shared_registry: object, celery_worker: object
) -> None:
    import requests

    before = services.registry.container.attrs["State"]["StartedAt"]  # type: ignore[attr-defined]

    response = operator_client.post("/api/v1/registry/restart/")

    assert response.status_code == 200, response.content
    assert services.registry.container.attrs["State"]["StartedAt"] != before  # type: ignore[attr-defined]
    url = f"{services.registry_url}/v2/"  # type: ignore[attr-defined]

    def answers() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    assert _wait_until(answers, timeout=30)
    assert AuditEntry.objects.filter(action="registry-restart", outcome="succeeded", actor="otto").exists()

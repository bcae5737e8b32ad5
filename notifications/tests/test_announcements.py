"""What the dashboard announces reaches the channels: a burst of real pushes as one digest, a failed
GC and the registry going down and coming back as one message each."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from core import worker
from inventory import services as inventory_services
from jobs.models import Job
from notifications import task_names, watch
from notifications.models import Delivery, Digest, HealthWatch
from notifications.tests.conftest import Receiver
from notifications.tests.test_delivery import channel, rule, until
from testenv import images
from testenv.services import RegistryService, start_registry

pytestmark = [pytest.mark.django_db(transaction=True)]

TOKEN = "notify-events-token"


@pytest.fixture
def notifying_registry(engine: Any, live_server: Any, settings: Any) -> Iterator[RegistryService]:
    """A registry of its own sending its events to the live test server (as inventory's live tests do)."""
    settings.REGISTRY_EVENTS_TOKEN = TOKEN
    value = inventory_services.notifications_setting(f"{live_server.url}/api/v1/events/", TOKEN)
    registry = start_registry(
        engine, f"notify27-{uuid.uuid4().hex[:8]}", env={"REGISTRY_NOTIFICATIONS_ENDPOINTS": value}
    )
    settings.REGISTRY_URL = registry.url
    try:
        yield registry
    finally:
        registry.remove()


def test_a_burst_of_pushes_is_one_digest_message(
    admin_client_role: Client, receiver: Receiver, celery_worker: object, notifying_registry: RegistryService
) -> None:
    made = channel(admin_client_role, f"{receiver.url}/digest")
    rule(admin_client_role, made["id"], ["push"], repositories=["ci/**"], digest_minutes=10)
    rule(admin_client_role, made["id"], ["push"], repositories=["elsewhere/**"])  # matches none of them
    url = notifying_registry.url
    digest = images.push_oci_image(url, "ci/app", "build-0")
    for number in range(1, 30):
        images.tag_existing(url, "ci/app", f"build-{number}", digest)
    images.push_oci_image(url, "other/app", "v1")  # outside the rule's repositories

    until(lambda: Digest.objects.filter(count=30).exists(), 30)
    time.sleep(1.0)
    assert receiver.requests == [] and not Delivery.objects.exists()  # nothing before the window ends
    assert Digest.objects.get().count == 30

    Digest.objects.update(due_at=Digest.objects.get().opened_at)  # the ten minutes have passed
    worker.send(task_names.FLUSH_DIGESTS)
    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert body["title"].startswith("30 events in 10 min")
    assert "- ci/app:build-0 was pushed" in body["text"] and "other/app" not in body["text"]
    time.sleep(1.5)
    worker.send(task_names.FLUSH_DIGESTS)
    time.sleep(1.5)
    assert len(receiver.requests) == 1


def test_a_failed_gc_is_one_message_even_when_two_topics_cover_it(
    admin_client_role: Client, operator_client: Client, receiver: Receiver, celery_worker: object, settings: Any
) -> None:
    settings.REGISTRY_CONTAINER = "no-such-registry-container"
    made = channel(admin_client_role, f"{receiver.url}/gc")
    rule(admin_client_role, made["id"], ["gc-failed", "job-failed"])
    rule(admin_client_role, made["id"], ["gc-finished"])

    answer = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    until(lambda: Job.objects.get(pk=job_id).status == "failed", 60)

    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert body["title"] == f"Garbage collection #{job_id} failed" and body["topic"] == "gc-failed"
    assert "no-such-registry-container" in body["text"] and body["link"].endswith(f"/maintenance/jobs/{job_id}/")
    time.sleep(2.0)
    assert len(receiver.requests) == 1


def test_the_registry_going_down_and_back_is_one_message_each(
    admin_client_role: Client, receiver: Receiver, celery_worker: object, engine: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_REGISTRY_DOWN_AFTER = 2
    registry = start_registry(engine, f"watched-{uuid.uuid4().hex[:6]}")
    settings.REGISTRY_URL = registry.url
    made = channel(admin_client_role, f"{receiver.url}/health")
    rule(admin_client_role, made["id"], ["registry"])
    try:
        assert watch.check_registry().ok
        registry.stop()
        assert watch.check_registry().failures == 1  # one failed check is not an outage yet
        time.sleep(1.0)
        assert receiver.requests == []
        for _ in range(3):
            watch.check_registry()
        (down,) = receiver.wait_for(1)
        assert json.loads(down.body)["title"] == "The registry does not answer"
        time.sleep(1.0)
        registry.container.start()
        until(lambda: watch.check_registry().ok, 30)
        up = receiver.wait_for(2)[1]
        text = json.loads(up.body)["text"]
        assert json.loads(up.body)["title"] == "The registry answers again" and " down." in text
        watch.check_registry()
        time.sleep(1.5)
        assert len(receiver.requests) == 2 and HealthWatch.objects.get().ok
    finally:
        registry.remove()


def test_disk_usage_is_told_when_it_rises_above_the_threshold_not_at_every_sample(
    admin_client_role: Client,
    operator_client: Client,
    receiver: Receiver,
    celery_worker: object,
    engine: Any,
    settings: Any,
) -> None:
    name = f"diskreg-{uuid.uuid4().hex[:6]}"
    registry = start_registry(engine, name)
    settings.REGISTRY_CONTAINER, settings.REGISTRY_URL = name, registry.url
    made = channel(admin_client_role, f"{receiver.url}/disk")
    rule(admin_client_role, made["id"], ["disk-usage"], disk_threshold=1)
    try:
        df = registry.exec("df", "-Pk", "/var/lib/registry")[1].splitlines()[-1].split()
        for _ in range(2):
            answer = operator_client.post("/api/v1/stats/collect/")
            assert answer.status_code == 202, answer.content
            job = Job.objects.get(pk=answer.json()["id"])
            until(lambda job=job: Job.objects.get(pk=job.pk).status == "succeeded", 60)
        (got,) = receiver.wait_for(1)
        body = json.loads(got.body)
        percent = -(-int(df[2]) * 100 // int(df[1]))
        assert abs(int(body["facts"]["percent"]) - percent) <= 1
        assert body["title"] == f"The registry's disk is {body['facts']['percent']}% full"
        assert body["link"].endswith("/maintenance/storage/")
        time.sleep(2.0)
        assert len(receiver.requests) == 1  # the second sample, still above, is not told again
    finally:
        registry.remove()

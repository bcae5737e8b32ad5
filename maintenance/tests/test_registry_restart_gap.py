"""A registry restart loses its queue of undelivered events: the worker's engine check records one
events gap, a reconcile starts at once and makes the inventory equal the registry again."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from inventory.models import EventsGap, Tag
from inventory.tests.test_events_live import within
from testenv import images
from testenv.services import RegistryService

TOKEN = "restart-events-token"


@pytest.fixture
def events_token() -> str:
    """The token ``v3_v3_notifying_registry`` (conftest.py) sends its events with."""
    return TOKEN


@pytest.mark.django_db(transaction=True)
def test_a_registry_restart_loses_its_queue_records_a_gap_and_the_reconcile_makes_the_inventory_whole(
    v3_notifying_registry: RegistryService, settings: Any
) -> None:
    from maintenance import container_actions

    url = v3_notifying_registry.url
    settings.REGISTRY_CONTAINER = v3_notifying_registry.container_name
    kept = images.push_oci_image(url, "restart/app", "kept")
    gone = images.push_oci_image(url, "restart/app", "gone")
    within(30.0, lambda: Tag.objects.filter(repository__name="restart/app").count() == 2)
    container_actions.record_engine_health()  # the worker's engine check: it knows this start
    assert not EventsGap.objects.exists()
    # The dashboard refuses the registry's posts for a while: they wait in the registry's memory.
    settings.REGISTRY_EVENTS_TOKEN = "not-the-registry-token"
    late = images.push_oci_image(url, "restart/late", "v1")
    assert requests.delete(f"{url}/v2/restart/app/manifests/{gone}", timeout=5).status_code == 202
    time.sleep(1.0)
    v3_notifying_registry.restart()  # ... and are lost with its process (distribution#2422)
    settings.REGISTRY_EVENTS_TOKEN = TOKEN
    assert not Tag.objects.filter(repository__name="restart/late").exists()
    container_actions.record_engine_health()  # sees the new start: a gap, and a reconcile at once
    gap = EventsGap.objects.get()
    assert "restarted" in gap.reason and gap.ended is not None
    # The reconcile (the worker runs it) brings the inventory back to what the registry holds.
    within(60.0, lambda: EventsGap.objects.filter(reconciled__isnull=False).exists())
    tags = {(r, t): d for r, t, d in Tag.objects.values_list("repository__name", "name", "digest")}
    assert tags == {("restart/app", "kept"): kept, ("restart/late", "v1"): late}
    # The new process's first event is the same restart seen again: still one gap.
    images.push_oci_image(url, "restart/after", "v1")
    within(30.0, lambda: Tag.objects.filter(repository__name="restart/after").exists())
    assert EventsGap.objects.count() == 1

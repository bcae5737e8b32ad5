"""The scrub as a job (issue 24): POST /api/v1/scrub/, a real worker reading a real registry's
storage files, findings with the tags they break on the home page until a later scrub clears them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from core import notable
from inventory import scrub
from inventory.models import VerifiedBlob
from jobs.models import Job
from registry_files.layout import StorageFiles
from registry_files.scrub import RateLimit
from testenv import images
from testenv.services import RegistryService, Services, start_registry

CREATED = "2026-01-02T03:04:05Z"  # a fixed date: pushing the same layers again gives the same image


@pytest.fixture
def own_registry(request: pytest.FixtureRequest, services: Services, settings: Any) -> Iterator[RegistryService]:
    """A registry of the test's own (its blobs get damaged), v3.1.1 or 2.8.2; the dashboard reads its files."""
    version = getattr(request, "param", "v3")
    found = services.engine.registry_images
    if int(version[1:]) not in found:
        pytest.skip(services.v3_missing or f"no {version} registry image")
    registry = start_registry(services.engine, name=f"scrub-{uuid.uuid4().hex[:6]}", image=found[int(version[1:])])
    settings.REGISTRY_URL = registry.url
    settings.REGISTRY_CONTAINER = registry.container_name
    settings.REGISTRY_DATA_DIR = str(registry.data_dir)
    try:
        yield registry
    finally:
        registry.remove()


def _run(client: Client) -> Job:
    answer = client.post("/api/v1/scrub/")
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    deadline = time.monotonic() + 90
    job = Job.objects.get(pk=job_id)
    while job.is_active and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (job.error, job.output)
    return job


@pytest.mark.parametrize("own_registry", ["v3", "v2"], indirect=True)
@pytest.mark.django_db(transaction=True)
def test_a_scrub_job_reports_a_damaged_and_a_removed_blob_until_a_push_and_a_later_scrub_clear_them(
    celery_worker: Any, own_registry: RegistryService, admin_client_role: Client, viewer_client: Client
) -> None:
    url = own_registry.url
    layers = [images.make_layer(images.unique_files(f"scrub{n}")) for n in range(2)]
    image = images.push_oci_image(url, "app", "v1", layers=layers, created=CREATED)
    images.tag_existing(url, "app", "stable", image)
    images.push_oci_image(url, "other", "v1")

    announced: list[dict[str, Any]] = []

    def listen(sender: str, kind: str, facts: dict[str, Any], **kwargs: Any) -> None:
        if kind == notable.DAMAGE_FOUND:
            announced.append(facts)

    notable.happened.connect(listen, weak=False)
    clean = _run(admin_client_role)
    assert announced == []  # nothing damaged: nothing announced
    blobs = clean.result["read_blobs"]
    assert clean.result["damaged"] == clean.result["missing"] == 0 and blobs >= 7
    assert clean.result["max_mbps"] == 50  # SCRUB_MAX_MBPS's default
    assert VerifiedBlob.objects.count() == blobs

    files = StorageFiles(own_registry.data_dir)
    damaged, removed = (layer.digest for layer in layers)
    content = bytearray(files.blob_path(damaged).read_bytes())
    content[len(content) // 2] ^= 0xFF
    files.blob_path(damaged).write_bytes(bytes(content))
    shutil.rmtree(files.blob_path(removed).parent)

    found = _run(admin_client_role)
    notable.happened.disconnect(listen)

    result = found.result
    assert announced == [
        {"source": "The storage scrub", "detail": scrub.sentence(result), "count": 2, "path": found.get_absolute_url()}
    ]
    assert (result["damaged"], result["missing"]) == (1, 1)
    # Incremental: only the blob whose file changed was read again; the count says how many were skipped.
    assert (result["read_blobs"], result["skipped_blobs"]) == (1, blobs - 2)
    by_digest = {finding["digest"]: finding for finding in result["findings"]}
    assert by_digest[damaged]["problem"] == "damaged" and by_digest[removed]["problem"] == "missing"
    for finding in by_digest.values():
        assert finding["tags"] == ["app:stable", "app:v1"]
        assert finding["images"] == [f"app@{image}"]
    assert "Delete its directory" in by_digest[damaged]["advice"] and "app:stable" in by_digest[damaged]["advice"]
    assert f"MISSING {removed}" in found.output and f"DAMAGED {damaged}" in found.output
    # The home page's summary says it, with the tags to push again.
    home = viewer_client.get(reverse("dashboard-summary")).content.decode()
    assert 'data-testid="scrub-findings"' in home
    assert damaged[:19] in home and "app:v1" in home and "app:stable" in home
    # GET /api/v1/scrub/ (viewers) carries the same findings, without asking the jobs list.
    state = viewer_client.get("/api/v1/scrub/").json()
    assert state["files_readable"] is True and str(own_registry.data_dir) in state["files_reason"]
    assert state["running"] is None
    last = state["last"]
    assert last["job"]["id"] == found.pk and last["job"]["status"] == "succeeded" and last["reason"] == "manual"
    assert (last["damaged"], last["missing"], last["read_blobs"], last["skipped_blobs"]) == (1, 1, 1, blobs - 2)
    assert last["findings"] == result["findings"] and last["findings_truncated"] is False
    assert last["finished_at"] == found.finished_at.isoformat() and last["outcome"] == scrub.sentence(result)
    # It is a job like any other: in the jobs list.
    listed = viewer_client.get("/api/v1/jobs/?kind=scrub").json()
    assert found.pk in [job["id"] for job in listed["results"]]
    assert viewer_client.get(found.get_absolute_url()).status_code == 200

    # What the advice says: the damaged blob's directory removed, the registry restarted (its blob
    # cache still lists both blobs), the tags pushed again.
    shutil.rmtree(files.blob_path(damaged).parent)
    own_registry.restart()
    assert images.push_oci_image(url, "app", "v1", layers=layers, created=CREATED) == image

    cleared = _run(admin_client_role)

    assert cleared.result["damaged"] == cleared.result["missing"] == 0
    assert cleared.result["read_blobs"] == 2  # the two blobs pushed again; the rest skipped
    cleared_state = viewer_client.get("/api/v1/scrub/").json()["last"]
    assert cleared_state["job"]["id"] == cleared.pk and cleared_state["findings"] == []
    assert cleared_state["damaged"] == cleared_state["missing"] == 0
    assert 'data-testid="scrub-findings"' not in viewer_client.get(reverse("dashboard-summary")).content.decode()


@pytest.mark.django_db
def test_without_the_storage_files_the_api_answers_409_naming_the_setting_and_the_button_is_disabled(
    settings: Any, admin_client_role: Client
) -> None:
    settings.REGISTRY_DATA_DIR = ""

    answer = admin_client_role.post("/api/v1/scrub/")
    page = admin_client_role.get(reverse("registry")).content.decode()

    assert answer.status_code == 409
    assert "REGISTRY_DATA_DIR" in answer.json()["detail"]
    assert not Job.objects.filter(kind="scrub").exists()
    assert 'data-testid="scrub-registry" disabled' in page
    assert 'data-testid="scrub-unavailable"' in page and "set REGISTRY_DATA_DIR for the worker" in page
    # The page's form gives the same refusal, never a job.
    refused = admin_client_role.post(reverse("registry-scrub"))
    assert refused.status_code == 302 and not Job.objects.filter(kind="scrub").exists()
    # GET /api/v1/scrub/ says the same, and that no scrub ran yet.
    state = admin_client_role.get("/api/v1/scrub/").json()
    assert state == {
        "files_readable": False,
        "files_reason": scrub.unavailable(),
        "running": None,
        "last": None,
    }


@pytest.mark.django_db
def test_only_admins_scrub_and_a_second_request_gets_409_with_the_first(
    settings: Any, admin_client_role: Client, operator_client: Client, viewer_client: Client, tmp_path: Path
) -> None:
    settings.REGISTRY_DATA_DIR = str(tmp_path)

    assert operator_client.post("/api/v1/scrub/").status_code == 403
    assert 'data-testid="scrub-registry"' not in operator_client.get(reverse("registry")).content.decode()
    first = admin_client_role.post("/api/v1/scrub/")
    second = admin_client_role.post("/api/v1/scrub/")

    assert first.status_code == 202 and set(first.json()) == {"id", "url", "page", "status"}
    assert second.status_code == 409 and second.json()["job"]["id"] == first.json()["id"]
    # Viewers read the scrub's state (the queued one), only admins start one.
    state = viewer_client.get("/api/v1/scrub/")
    assert state.status_code == 200 and state.json()["running"] == first.json() | {"status": "queued"}
    assert state.json()["last"] is None
    assert Job.objects.get(pk=first.json()["id"]).params == {"reason": "manual"}
    assert 'data-testid="scrub-registry">' in admin_client_role.get(reverse("registry")).content.decode()


@pytest.mark.django_db
def test_a_scrub_job_without_readable_files_fails_saying_why(settings: Any, tmp_path: Path) -> None:
    settings.REGISTRY_DATA_DIR = str(tmp_path / "absent")
    job = Job.objects.create(kind=Job.Kind.SCRUB, params={"reason": "schedule"})

    scrub.ScrubJob.handle(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    last = scrub.status()["last"]
    assert last is not None and last["job"]["id"] == job.pk and last["error"] == job.error and last["blobs"] is None
    assert scrub.status()["files_readable"] is False
    assert "No scrub: REGISTRY_DATA_DIR=" in job.error and "does not exist" in job.error


def test_the_rate_limit_sleeps_as_long_as_reading_ran_ahead_of_it() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimit(2, sleep=sleep, clock=lambda: now[0])  # 2 MiB/s
    limiter.wait_for(1 << 20)  # 1 MiB at once: half a second ahead
    now[0] += 0.2  # reading the next MiB took 0.2 s
    limiter.wait_for(1 << 20)  # 2 MiB in 0.7 s: 0.3 s ahead
    now[0] += 5.0  # a slow disk: behind the limit, no sleep
    limiter.wait_for(1 << 20)

    assert slept == pytest.approx([0.5, 0.3])
    assert limiter.slept == pytest.approx(0.8)
    assert RateLimit(0, sleep=sleep).wait_for(1 << 30) == 0  # SCRUB_MAX_MBPS=0: no limit


def _beat_entry(env: dict[str, str]) -> str:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CELERY_BEAT_SCHEDULE.get('storage-scrub')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "registry_admin.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_schedule_is_off_by_default_and_weekly_when_asked() -> None:
    assert _beat_entry({"SCRUB_INTERVAL_HOURS": ""}) == "null"
    assert json.loads(_beat_entry({"SCRUB_INTERVAL_HOURS": "168"})) == {
        "task": "inventory.tasks.scheduled_scrub",
        "schedule": 168 * 3600.0,
    }


@pytest.mark.django_db
def test_the_scheduled_task_queues_a_scrub_and_skips_without_the_files(settings: Any, tmp_path: Path) -> None:
    from inventory.tasks import scheduled_scrub

    settings.REGISTRY_DATA_DIR = ""
    scheduled_scrub()
    assert not Job.objects.filter(kind="scrub").exists()

    settings.REGISTRY_DATA_DIR = str(tmp_path)
    scheduled_scrub()
    scheduled_scrub()  # one is queued already: no second
    assert list(Job.objects.filter(kind="scrub").values_list("params", flat=True)) == [{"reason": "schedule"}]

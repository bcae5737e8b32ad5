"""Updating the registry container on the real engine: two builds of the same registry binary with
different labels stand in for two releases."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from jobs.models import Job
from maintenance import container_actions, engine, gc, registry_container, snapshot, update
from maintenance.models import RegistryMaintenance, RegistryPause
from testenv.images import push_oci_image
from testenv.registry_image import build_registry_image
from testenv.services import RegistryService, Services, start_registry

pytestmark = pytest.mark.django_db

VERSION = "org.opencontainers.image.version"


class Releases:
    """Images built for one test under one tag, removed at the end with the registry container."""

    def __init__(self, services: Services, reference: str) -> None:
        self.services = services
        self.reference = reference
        self.ids: list[str] = []
        self.registry: RegistryService | None = None

    def build(self, version: str, *changes: str, check: bool = True) -> str:
        image_id = build_registry_image(
            self.services.engine, self.reference, extra_changes=(f"LABEL {VERSION}={version}", *changes), check=check
        )
        self.ids.append(image_id)
        return image_id

    def start(self, settings: Any) -> RegistryService:
        name = f"updreg-{uuid.uuid4().hex[:6]}"
        self.registry = start_registry(
            self.services.engine, name=name, image=self.reference, env={"EXTRA_SETTING": "kept"}
        )
        settings.REGISTRY_CONTAINER = name
        settings.REGISTRY_URL = self.registry.url
        return self.registry

    def tagged(self) -> str:
        return self.services.engine.client().images.get(self.reference).id

    def cleanup(self) -> None:
        if self.registry is not None:
            self.registry.remove()
        client = self.services.engine.client()
        for image_id in self.ids:
            with contextlib.suppress(Exception):  # already gone with its tag
                client.images.remove(image_id, force=True)


@pytest.fixture
def releases(services: Services) -> Iterator[Releases]:
    # 127.0.0.1:1 refuses at once: a pull of this reference fails like on an offline NAS.
    made = Releases(services, f"127.0.0.1:1/upd-{uuid.uuid4().hex[:6]}/registry:3")
    yield made
    made.cleanup()


def _update_job() -> Job:
    job = Job.objects.create(kind=Job.Kind.UPDATE, params={})
    update.run(job.pk)
    job.refresh_from_db()
    return job


def test_it_updates_offline_to_the_newer_image_the_tag_points_to(releases: Releases, settings: Any) -> None:
    old_id = releases.build("3.1.0")
    registry = releases.start(settings)
    digest = push_oci_image(registry.url, "kept/app", "v1")
    before = registry.container.attrs
    new_id = releases.build("3.1.1")  # the tag moves on; the container still runs the old one
    seen = container_actions.record_snapshot()
    newer = snapshot.newer_image(seen)
    assert newer is not None and newer["id"] == new_id and newer["version"] == "3.1.1"
    assert newer["release_notes"].endswith("/releases/tag/v3.1.1")

    job = _update_job()

    assert job.status == Job.Status.SUCCEEDED, job.error + job.output
    assert job.result["status"] == "updated"
    assert job.result["pulled"] is False and "127.0.0.1:1" in job.result["pull_error"]
    assert "Using what" in job.output and "points to on the engine already" in job.output
    assert job.result["old"]["image_id"] == old_id and job.result["new"]["image_id"] == new_id
    assert job.result["new"]["version_raw"] and job.result["old"]["version"]
    after = registry.container.attrs
    assert after["Image"] == new_id and after["Id"] != before["Id"]
    # The new image's own defaults apply; what the operator set is kept.
    assert after["Config"]["Labels"][VERSION] == "3.1.1"
    for key in ("HostConfig", "Mounts"):
        assert registry_container.normalized(after)[key] == registry_container.normalized(before)[key]
    assert sorted(after["Config"]["Env"]) == sorted(before["Config"]["Env"])
    assert "EXTRA_SETTING=kept" in after["Config"]["Env"]
    # The data is still there and it answers.
    response = requests.head(
        f"{registry.url}/v2/kept/app/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=5,
    )
    assert response.headers["Docker-Content-Digest"] == digest
    assert snapshot.newer_image(container_actions.record_snapshot()) is None
    assert not RegistryMaintenance.objects.filter(ended_at__isnull=True).exists()


def test_it_pulls_the_new_release_through_the_engine(services: Services, settings: Any) -> None:
    # The session's shared registry plays Docker Hub: the new release is pushed there.
    reference = f"{services.registry.host_port}/upd-{uuid.uuid4().hex[:6]}/registry:3"
    made = Releases(services, reference)
    client = services.engine.client()
    try:
        new_id = made.build("3.1.1")
        push = services.engine.cli("push", reference)
        assert push.returncode == 0, push.stderr
        old_id = made.build("3.1.0")  # the engine's tag points at the old release again
        made.start(settings)

        job = _update_job()

        assert job.status == Job.Status.SUCCEEDED, job.error + job.output
        assert job.result["pulled"] is True, job.result
        assert job.result["status"] == "updated"
        assert job.result["old"]["image_id"] == old_id
        assert job.result["new"]["image_id"] == client.images.get(reference).id == new_id
        assert job.result["new"]["repo_digest"].startswith(reference.rsplit(":", 1)[0] + "@sha256:")
        assert made.registry is not None and made.registry.container.attrs["Image"] == new_id
    finally:
        made.cleanup()


def test_a_failed_pull_with_nothing_newer_on_the_engine_is_not_up_to_date(
    releases: Releases, settings: Any, operator_client: Client
) -> None:
    # Issue 25, update #8: "Pulling ... failed", then "Already up to date", status succeeded.
    releases.build("3.1.0")
    registry = releases.start(settings)
    before = registry.container.attrs

    job = _update_job()

    assert job.status == Job.Status.WARNING, job.error + job.output
    assert job.result["status"] == "up-to-date" and job.result["pulled"] is False
    assert "could not be checked" in job.error and "127.0.0.1:1" in job.error
    assert "Already up to date" not in job.output and "Not checked: the pull failed" in job.output
    assert registry.container.attrs["Id"] == before["Id"]
    assert registry.container.attrs["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert not RegistryMaintenance.objects.exists()
    page = operator_client.get("/registry/").content.decode()
    assert "Not checked: the pull failed." in page and "Already up to date." not in page
    assert operator_client.get(f"/api/v1/jobs/{job.pk}/").json()["status"] == "warning"


def test_nothing_to_update_after_a_pull_changes_nothing(services: Services, settings: Any) -> None:
    # The session's shared registry plays Docker Hub: the pull works and brings the same image.
    reference = f"{services.registry.host_port}/upd-{uuid.uuid4().hex[:6]}/registry:3"
    made = Releases(services, reference)
    try:
        made.build("3.1.0")
        push = services.engine.cli("push", reference)
        assert push.returncode == 0, push.stderr
        registry = made.start(settings)
        before = registry.container.attrs

        job = _update_job()

        assert job.status == Job.Status.SUCCEEDED, job.error + job.output
        assert job.result["status"] == "up-to-date" and job.result["pulled"] is True
        assert "Already up to date" in job.output
        assert registry.container.attrs["Id"] == before["Id"]
        assert registry.container.attrs["State"]["StartedAt"] == before["State"]["StartedAt"]
        assert not RegistryMaintenance.objects.exists()
    finally:
        made.cleanup()


def test_a_new_image_that_never_answers_is_rolled_back_with_the_same_configuration(
    releases: Releases, settings: Any
) -> None:
    old_id = releases.build("3.1.0")
    registry = releases.start(settings)
    before = registry.container.attrs
    # Runs, but never starts the registry: /v2/ never answers.
    releases.build("3.2.0", 'ENTRYPOINT ["/bin/sh", "-c", "exec sleep 100000"]', check=False)
    settings.UPDATE_ANSWER_TIMEOUT = 5

    job = _update_job()

    assert job.status == Job.Status.FAILED
    assert "did not answer" in job.error and "UPDATE_ANSWER_TIMEOUT" in job.error
    assert f"put back on its old image {old_id}" in job.error
    assert job.result["status"] == "rolled-back"
    after = registry.container.attrs
    assert after["Image"] == old_id
    assert (
        registry_container.differences(registry_container.normalized(before), registry_container.normalized(after))
        == []
    )
    assert releases.tagged() == old_id  # the tag points at the image that works again
    assert requests.get(f"{registry.url}/v2/", timeout=5).status_code == 200
    assert not RegistryMaintenance.objects.filter(ended_at__isnull=True).exists()


def test_the_watchdog_puts_the_old_container_back_when_the_worker_died_midway(
    releases: Releases, settings: Any
) -> None:
    old_id = releases.build("3.1.0")
    registry = releases.start(settings)
    saved = registry.container.attrs
    old_config = engine.image_facts(releases.services.engine.client(), old_id)
    assert old_config is not None
    new_id = releases.build("3.1.1")
    # What a worker killed right after the recreate leaves: the new container, an open record.
    job = Job.objects.create(
        kind=Job.Kind.UPDATE, status=Job.Status.RUNNING, started_at=timezone.now() - dt.timedelta(hours=1)
    )
    RegistryMaintenance.objects.create(job=job, container_name=saved["Name"].lstrip("/"), mode="update", attrs=saved)
    registry_container.recreate(
        releases.services.engine.client(), registry_container.without_image_defaults(saved, old_config.config)
    )
    assert registry.container.attrs["Image"] == new_id

    done = gc.watchdog()

    assert any("interrupted update" in line for line in done), done
    after = registry.container.attrs
    assert after["Image"] == old_id
    assert (
        registry_container.differences(registry_container.normalized(saved), registry_container.normalized(after)) == []
    )
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "registry update died" in job.error


def test_the_api_queues_an_update_with_the_job_reference(operator_client: Client) -> None:
    answer = operator_client.post("/api/v1/registry/update/")
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert set(body) == {"id", "url", "page", "status"}
    assert body["status"] == "queued" and body["url"].endswith(f"/api/v1/jobs/{body['id']}/")
    assert Job.objects.get(pk=body["id"]).kind == Job.Kind.UPDATE


def test_viewers_may_not_update(viewer_client: Client) -> None:
    assert viewer_client.post("/api/v1/registry/update/").status_code == 403


def test_it_is_refused_during_a_gc_naming_it(operator_client: Client) -> None:
    gc_job = Job.objects.create(kind=Job.Kind.GC, status=Job.Status.RUNNING, started_at=timezone.now())
    answer = operator_client.post("/api/v1/registry/update/")
    assert answer.status_code == 409
    assert f"garbage collection is in progress (job {gc_job.pk}" in answer.json()["detail"]
    assert answer.json()["job"]["id"] == gc_job.pk
    assert not Job.objects.filter(kind=Job.Kind.UPDATE).exists()


@pytest.mark.parametrize("kind", ["retention", "verify"])
def test_it_is_refused_during_a_retention_run_or_another_registry_job(operator_client: Client, kind: str) -> None:
    other = Job.objects.create(kind=kind, status=Job.Status.RUNNING)
    answer = operator_client.post("/api/v1/registry/update/")
    assert answer.status_code == 409 and f"(job {other.pk}" in answer.json()["detail"]


def test_it_is_refused_during_a_snapshot_pause(operator_client: Client) -> None:
    RegistryPause.objects.create(deadline=timezone.now() + dt.timedelta(minutes=5), container="registry")
    answer = operator_client.post("/api/v1/registry/update/")
    assert answer.status_code == 409 and "paused for a snapshot" in answer.json()["detail"]


def test_a_worker_refuses_an_update_when_a_gc_started_meanwhile(releases: Releases, settings: Any) -> None:
    releases.build("3.1.0")
    registry = releases.start(settings)
    before = registry.container.attrs
    releases.build("3.1.1")
    Job.objects.create(kind=Job.Kind.GC, status=Job.Status.RUNNING, started_at=timezone.now())

    job = _update_job()

    assert job.status == Job.Status.FAILED and "garbage collection is in progress" in job.error
    assert registry.container.attrs["Id"] == before["Id"]


def test_the_registry_page_offers_the_update_to_operators(operator_client: Client, viewer_client: Client) -> None:
    page = operator_client.get("/registry/").content.decode()
    assert 'data-testid="update-registry"' in page
    assert 'data-testid="update-registry"' not in viewer_client.get("/registry/").content.decode()
    answer = operator_client.post("/registry/jobs/update/")
    job = Job.objects.get(kind=Job.Kind.UPDATE)
    assert answer.status_code == 302 and answer["Location"] == job.get_absolute_url()


@pytest.mark.parametrize("kind", [Job.Kind.UPDATE, Job.Kind.VERIFY])
def test_a_gc_is_refused_while_an_update_or_verification_is_in_progress(operator_client: Client, kind: str) -> None:
    other = Job.objects.create(kind=kind, status=Job.Status.RUNNING, started_at=timezone.now())
    answer = operator_client.post("/api/v1/gc/", {"dry_run": True}, content_type="application/json")
    assert answer.status_code == 409, answer.content
    assert f"(job {other.pk}" in answer.json()["detail"] and answer.json()["job"]["id"] == other.pk
    assert not Job.objects.filter(kind=Job.Kind.GC).exists()


def test_a_pause_is_refused_while_an_update_runs(db: None) -> None:
    job = Job.objects.create(kind=Job.Kind.UPDATE, status=Job.Status.RUNNING, started_at=timezone.now())
    answer = container_actions.pause(None, 60, "api")
    assert answer["ok"] is False and f"registry update (job {job.pk})" in answer["error"]
    assert not RegistryPause.objects.exists()

"""The guided switch on the real engine: a registry recreated with the token settings and checked,
then without them; rolled back when its check fails. v3.1.1 and 2.8.2."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from access import switch
from access.models import Robot
from maintenance import engine as docker_engine
from maintenance import gc, registry_container
from maintenance.models import Job, RegistryMaintenance
from testenv import images
from testenv.auth import BearerAuth
from testenv.services import RegistryService, start_registry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[3, 2], ids=["v3", "v2"])
def own_registry(
    request: pytest.FixtureRequest, engine: Any, live_server: Any, settings: Any
) -> Iterator[RegistryService]:
    image = engine.registry_images.get(request.param)
    if image is None:
        pytest.skip(f"no v{request.param} registry image")
    registry = start_registry(engine, f"login-{uuid.uuid4().hex[:6]}", image=image, env={"EXTRA_SETTING": "kept"})
    settings.REGISTRY_CONTAINER = registry.container_name
    settings.REGISTRY_URL = registry.url
    settings.REGISTRY_TOKEN_REALM = f"{live_server.url}/auth/token"
    settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD = "robot$dashboard", settings.DASHBOARD_REGISTRY_PASSWORD
    try:
        yield registry
    finally:
        registry.remove()


def switched(enable: bool) -> Job:
    job = Job.objects.create(kind=Job.Kind.REGISTRY_LOGIN, params={"enable": enable})
    switch.run(job.pk)
    job.refresh_from_db()
    return job


def env_of(registry: RegistryService) -> list[str]:
    return list(registry.container.attrs["Config"]["Env"])


def test_it_requires_login_and_stops_requiring_it(own_registry: RegistryService, settings: Any) -> None:
    url = own_registry.url
    digest = images.push_oci_image(url, "kept/app", "v1")
    before = own_registry.container.attrs

    on = switched(True)

    assert on.status == Job.Status.SUCCEEDED, on.error + on.output
    assert on.result["status"] == "on"
    answer = requests.get(f"{url}/v2/", timeout=5)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith(f'Bearer realm="{settings.REGISTRY_TOKEN_REALM}"')
    env = env_of(own_registry)
    assert "REGISTRY_AUTH=token" in env and "EXTRA_SETTING=kept" in env
    assert own_registry.container.attrs["HostConfig"]["Binds"] == before["HostConfig"]["Binds"]
    assert "logged in, pushed and pulled" in on.output and "Anonymous requests are refused" in on.output
    assert not Robot.objects.exists()  # the check's robot is gone
    dashboard = BearerAuth(settings.REGISTRY_USERNAME, settings.REGISTRY_PASSWORD)
    assert images.manifest_digest(url, "kept/app", "v1", auth=dashboard) == digest
    assert not RegistryMaintenance.objects.filter(ended_at__isnull=True).exists()

    off = switched(False)

    assert off.status == Job.Status.SUCCEEDED, off.error + off.output
    assert requests.get(f"{url}/v2/", timeout=5).status_code == 200
    assert not any(e.startswith("REGISTRY_AUTH") for e in env_of(own_registry))
    assert "EXTRA_SETTING=kept" in env_of(own_registry)
    assert images.manifest_digest(url, "kept/app", "v1") == digest


def test_a_failed_check_puts_the_registry_back_as_it_was(own_registry: RegistryService, settings: Any) -> None:
    before = own_registry.container.attrs
    settings.REGISTRY_TOKEN_REALM = "http://127.0.0.1:1/auth/token"  # nothing answers there: no robot gets a token

    job = switched(True)

    assert job.status == Job.Status.FAILED
    assert job.result["status"] == "rolled-back"
    assert "did not answer the worker" in job.error and "put back as it was" in job.error
    after = own_registry.container.attrs
    assert sorted(after["Config"]["Env"]) == sorted(before["Config"]["Env"])
    assert requests.get(f"{own_registry.url}/v2/", timeout=5).status_code == 200
    assert not RegistryMaintenance.objects.filter(ended_at__isnull=True).exists()


def test_admins_queue_the_switch_from_the_access_page(
    admin_client_role: Client, operator_client: Client, settings: Any
) -> None:
    settings.REGISTRY_TOKEN_REALM = "http://nas.lan:8000/auth/token"
    page = admin_client_role.get("/access/").content.decode()

    queued = admin_client_role.post("/access/registry-login/", {"enable": "true"})
    again = admin_client_role.post("/access/registry-login/", {"enable": "true"}, follow=True)
    refused = operator_client.post("/access/registry-login/", {"enable": "true"})

    assert "REGISTRY_AUTH_TOKEN_REALM=http://nas.lan:8000/auth/token" in page
    job = Job.objects.get(kind=Job.Kind.REGISTRY_LOGIN)
    assert job.params == {"enable": True}
    assert queued.status_code == 302 and queued["Location"] == job.get_absolute_url()
    assert "Registry login switch" in admin_client_role.get(job.get_absolute_url()).content.decode()
    assert "in progress" in again.content.decode()
    assert refused.status_code == 403


def test_the_api_queues_the_switch_for_admins_only(
    admin_client_role: Client, operator_client: Client, settings: Any
) -> None:
    settings.REGISTRY_TOKEN_REALM = ""
    without_realm = admin_client_role.post(
        "/api/v1/registry/login/", {"enabled": True}, content_type="application/json"
    )
    settings.REGISTRY_TOKEN_REALM = "http://nas.lan:8000/auth/token"
    unknown = admin_client_role.post(
        "/api/v1/registry/login/", {"enabled": True, "force": 1}, content_type="application/json"
    )
    not_boolean = admin_client_role.post("/api/v1/registry/login/", {"enabled": "yes"}, content_type="application/json")
    queued = admin_client_role.post("/api/v1/registry/login/", {"enabled": True}, content_type="application/json")
    busy = admin_client_role.post("/api/v1/registry/login/", {"enabled": False}, content_type="application/json")
    refused = operator_client.post("/api/v1/registry/login/", {"enabled": True}, content_type="application/json")

    assert without_realm.status_code == 409 and "REGISTRY_TOKEN_REALM" in without_realm.json()["detail"]
    assert unknown.status_code == 400 and "force" in unknown.json()
    assert not_boolean.status_code == 400 and "enabled" in not_boolean.json()
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    assert busy.status_code == 409 and busy.json()["job"]["id"] == queued.json()["id"]
    assert refused.status_code == 403


def test_a_switch_to_the_state_the_registry_is_in_is_refused(
    admin_client_role: Client, registry: Any, settings: Any
) -> None:
    settings.REGISTRY_URL = registry.url  # the session's registry, without login

    answer = admin_client_role.post("/api/v1/registry/login/", {"enabled": False}, content_type="application/json")

    assert answer.status_code == 409 and answer.json()["detail"] == "The registry requires no login already."
    assert not Job.objects.filter(kind=Job.Kind.REGISTRY_LOGIN).exists()


def test_a_registry_that_does_not_come_back_is_put_back(
    own_registry: RegistryService, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = own_registry.container.attrs
    settings.UPDATE_ANSWER_TIMEOUT = 8
    real = switch.token_env
    # A certificate bundle that is not there: the registry refuses to start with it.
    monkeypatch.setattr(
        switch, "token_env", lambda root: [*real(root)[:-1], "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=/nowhere/token.pem"]
    )

    job = switched(True)

    assert job.status == Job.Status.FAILED, job.output
    assert job.result["status"] == "rolled-back"
    assert "put back as it was" in job.error
    assert sorted(own_registry.container.attrs["Config"]["Env"]) == sorted(before["Config"]["Env"])
    assert requests.get(f"{own_registry.url}/v2/", timeout=5).status_code == 200


def test_the_watchdog_names_an_interrupted_switch_by_its_kind(own_registry: RegistryService, settings: Any) -> None:
    before = own_registry.container.attrs
    # What a worker killed right after the switch's recreate leaves: a changed container, an open record.
    job = Job.objects.create(
        kind=Job.Kind.REGISTRY_LOGIN,
        params={"enable": True},
        status=Job.Status.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
    )
    RegistryMaintenance.objects.create(
        job=job, container_name=before["Name"].lstrip("/"), mode=gc.UPDATE_MODE, attrs=before
    )
    client = docker_engine.connect()
    try:
        registry_container.recreate(client, before, extra_env=["LEFT_BY_A_DEAD_WORKER=1"])
    finally:
        client.close()

    done = gc.watchdog()

    assert any(f"after an interrupted registry login switch (job {job.pk})" in line for line in done), done
    assert not any("interrupted update" in line for line in done), done
    assert sorted(own_registry.container.attrs["Config"]["Env"]) == sorted(before["Config"]["Env"])

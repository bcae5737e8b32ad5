"""Diagnostics: the installation guide's verification and troubleshooting checks, each with advice."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from testenv.services import start_registry


def _checks(client: Client) -> dict[str, dict]:
    response = client.get("/api/v1/diagnostics/")
    assert response.status_code == 200, response.content
    return {check["id"]: check for check in response.json()["checks"]}


@pytest.mark.django_db(transaction=True)
def test_the_healthy_test_registry_passes_all_but_the_storage_driver_warning(
    viewer_client: Client, versioned_registry: object, celery_worker: object
) -> None:
    response = viewer_client.get("/api/v1/diagnostics/")
    report = response.json()
    checks = {check["id"]: check for check in report["checks"]}

    expected = {
        "container_exists",
        "container_running",
        "restart_policy",
        "port_published",
        "log_listening",
        "v2_answers",
        "deletes_enabled",
        "otel_disabled",
        "storage_driver",
        "registry_version",
        "blob_cache",
        "insecure_registries",
    }
    assert set(checks) == expected
    failing = {name: c["detail"] for name, c in checks.items() if not c["ok"] and name != "storage_driver"}
    assert failing == {}
    # The test engine runs vfs: a warning, with advice, that does not make the registry unhealthy.
    driver = checks["storage_driver"]
    assert driver["ok"] is False and driver["level"] == "warning"
    assert "vfs" in driver["detail"] and "overlay2" in driver["advice"]
    assert report["ok"] is True and report["errors"] == 0 and report["warnings"] == 1
    assert "inmemory" in checks["blob_cache"]["detail"] and "Restart the registry" in checks["blob_cache"]["detail"]
    assert '"insecure-registries"' in checks["insecure_registries"]["snippet"]
    if versioned_registry.major == 3:  # type: ignore[attr-defined]
        assert checks["registry_version"]["detail"].startswith("Distribution 3.1.1")
        assert "deletes a tag alone" in checks["registry_version"]["detail"]
    else:
        assert "2.8.2" in checks["registry_version"]["detail"]
        assert "--delete-untagged" in checks["registry_version"]["detail"]
    assert "listening on" in checks["log_listening"]["detail"]
    assert all(set(c) >= {"ok", "advice", "level", "detail", "title"} for c in checks.values())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("major", [3, 2])
def test_a_registry_with_deletes_disabled_fails_that_check_with_its_advice(
    viewer_client: Client, services: object, settings: object, celery_worker: object, major: int
) -> None:
    images = services.engine.registry_images  # type: ignore[attr-defined]
    if major not in images:
        pytest.skip(services.v3_missing or "no such registry image")  # type: ignore[attr-defined]
    name = f"registry-nodelete-{uuid.uuid4().hex[:6]}"
    other = start_registry(
        services.engine,  # type: ignore[attr-defined]
        name=name,
        env={"REGISTRY_STORAGE_DELETE_ENABLED": "false"},
        image=images[major],
    )
    try:
        settings.REGISTRY_CONTAINER = name  # type: ignore[attr-defined]
        settings.REGISTRY_URL = other.url  # type: ignore[attr-defined]
        checks = _checks(viewer_client)
    finally:
        other.remove()

    deletes = checks["deletes_enabled"]
    assert deletes["ok"] is False and deletes["level"] == "error"
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in deletes["advice"]
    assert "405" in deletes["detail"]
    assert checks["container_exists"]["detail"].startswith(images[major])
    assert checks["v2_answers"]["ok"] is True  # the dashboard asked the other registry
    # 3.1.1 (fixed) and 2.8 refuse tag deletes too: no CVE warning for them.
    assert "still deletes tags" not in deletes["detail"]
    assert checks["registry_version"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_a_missing_container_says_how_to_name_it(
    viewer_client: Client, settings: object, celery_worker: object
) -> None:
    settings.REGISTRY_CONTAINER = "no-such-registry"  # type: ignore[attr-defined]
    checks = _checks(viewer_client)
    assert checks["container_exists"]["ok"] is False
    assert "REGISTRY_CONTAINER" in checks["container_exists"]["advice"]


@pytest.mark.django_db(transaction=True)
def test_the_page_shows_each_check_with_its_advice(viewer_client: Client, celery_worker: object) -> None:
    shell = viewer_client.get("/registry/diagnostics/")
    assert shell.status_code == 200 and b'hx-get="/registry/diagnostics/"' in shell.content
    fragment = viewer_client.get("/registry/diagnostics/", headers={"HX-Request": "true"})
    assert b'data-check="storage_driver" data-level="warning"' in fragment.content
    assert b"insecure-registries" in fragment.content
    assert b'data-check="deletes_enabled" data-level="ok"' in fragment.content


@pytest.mark.django_db(transaction=True)
def test_clients_cannot_push_while_the_registry_does_not_answer(
    viewer_client: Client, settings: object, celery_worker: object
) -> None:
    # Issue 25: "Docker clients can push: OK" while the registry did not answer.
    settings.REGISTRY_URL = "http://127.0.0.1:1"  # type: ignore[attr-defined]  # nothing listens there
    checks = _checks(viewer_client)

    assert checks["v2_answers"]["ok"] is False
    push = checks["insecure_registries"]
    assert push["ok"] is False and push["level"] == "error"
    assert push["title"] == "Docker clients cannot push: the registry does not answer"
    assert "Start the registry" in push["advice"]

"""GET /api/v1/health/ and the dashboard shell, against the real registry, engine and Redis."""

import socket

import pytest
from django.test import Client

from maintenance import health as maintenance_health


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def quick_engine_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance_health, "ENGINE_ANSWER_WAIT", 1.0)


@pytest.mark.django_db
def test_it_is_200_when_registry_engine_and_broker_answer(
    viewer_client: Client, celery_worker: object, services: object
) -> None:
    response = viewer_client.get("/api/v1/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["registry"]["ok"] and body["docker"]["ok"] and body["broker"]["ok"]
    assert body["registry"]["url"] == services.registry_url  # type: ignore[attr-defined]
    assert "registry" in body["docker"]["detail"] and "running" in body["docker"]["detail"]
    assert body["docker"]["host"] == services.docker_host  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_an_unreachable_registry_says_which_url_and_why(
    viewer_client: Client, settings: object, quick_engine_answer: None
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    settings.REGISTRY_URL = url  # type: ignore[attr-defined]
    response = viewer_client.get("/api/v1/health/")
    assert response.status_code == 503
    registry = response.json()["registry"]
    assert registry["ok"] is False
    assert url in registry["detail"] and "Connection refused" in registry["detail"]


@pytest.mark.django_db
def test_no_worker_answering_is_a_failed_engine_check(
    viewer_client: Client, quick_engine_answer: None, services: object
) -> None:
    response = viewer_client.get("/api/v1/health/")
    assert response.status_code == 503
    docker = response.json()["docker"]
    assert docker["ok"] is False
    assert "No Celery worker answered" in docker["detail"]


@pytest.mark.django_db
def test_a_missing_engine_socket_is_named(
    viewer_client: Client, celery_worker: object, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    docker = viewer_client.get("/api/v1/health/").json()["docker"]
    assert docker["ok"] is False
    assert "docker.sock does not exist" in docker["detail"]


@pytest.mark.django_db
def test_a_missing_registry_container_is_named(viewer_client: Client, celery_worker: object, settings: object) -> None:
    settings.REGISTRY_CONTAINER = "no-such-registry"  # type: ignore[attr-defined]
    docker = viewer_client.get("/api/v1/health/").json()["docker"]
    assert docker["ok"] is False
    assert "No container named 'no-such-registry'" in docker["detail"]


@pytest.mark.django_db
def test_an_unreachable_broker_fails_the_broker_check(
    viewer_client: Client, settings: object, services: object
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"  # type: ignore[attr-defined]
    response = viewer_client.get("/api/v1/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["ok"] is False and "Cannot reach Redis" in body["broker"]["detail"]
    assert body["docker"]["ok"] is False and "Redis is unreachable" in body["docker"]["detail"]


@pytest.mark.django_db
def test_the_dashboard_shows_a_banner_when_the_registry_is_down(
    viewer_client: Client, settings: object, quick_engine_answer: None
) -> None:
    settings.REGISTRY_URL = f"http://127.0.0.1:{closed_port()}"  # type: ignore[attr-defined]
    page = viewer_client.get("/")
    assert page.status_code == 200 and b'hx-get="/"' in page.content
    fragment = viewer_client.get("/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert b"The registry cannot be reached" in fragment.content
    assert b"Connection refused" in fragment.content

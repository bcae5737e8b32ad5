"""The container panel: what a worker records about the registry container, secrets masked."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from core import masking
from maintenance import registry_container, snapshot
from testenv.registry_image import DEFAULT_IMAGE


@pytest.mark.django_db(transaction=True)
def test_the_panel_shows_the_container_without_its_secrets(
    viewer_client: Client, private_registry: object, celery_worker: object
) -> None:
    # A registry of its own, so that its last log lines still hold "listening on".
    secret = private_registry.env["REGISTRY_HTTP_SECRET"]  # type: ignore[attr-defined]

    response = viewer_client.get("/registry/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="container-status" class="status-running">running<' in html
    version = "3.1.1" if private_registry.major == 3 else "2.8.2"  # type: ignore[attr-defined]
    assert private_registry.image in html and version in html  # type: ignore[attr-defined]
    assert "always" in html and "host network" in html
    assert "json-file" in html and "max-size=10m" in html
    assert "inmemory" in html and "enabled" in html
    assert "listening on" in html  # the last log lines
    assert secret not in html
    assert "REGISTRY_HTTP_SECRET" in html and masking.MASK in html
    # Viewers see no actions.
    assert 'data-testid="container-actions"' not in html


@pytest.mark.django_db(transaction=True)
def test_the_stats_api_names_the_container_and_the_latest_sample(
    viewer_client: Client, services: object, celery_worker: object
) -> None:
    from maintenance import stats_collector

    stats_collector.collect()
    body = viewer_client.get("/api/v1/stats/").json()

    assert body["container"]["name"] == "registry"
    assert body["container"]["status"] == "running"
    primary = services.registry  # type: ignore[attr-defined]
    assert body["container"]["image"] == primary.image
    assert body["container"]["version"] == ("3.1.1" if primary.major == 3 else "2.8.2")
    assert body["container"]["started_at"].startswith("20")
    latest = body["latest"]
    assert set(latest) == {
        "collected_at",
        "cpu_percent",
        "memory_bytes",
        "memory_limit_bytes",
        "net_rx_bytes",
        "net_tx_bytes",
        "block_read_bytes",
        "block_write_bytes",
        "pids",
        "storage_bytes",
        "blob_count",
        "repository_count",
        "tag_count",
    }
    assert latest["memory_bytes"] > 0


def test_the_log_tail_drops_the_opentelemetry_exporter_noise(services: object) -> None:
    """distribution#4270: registry:3 without OTEL_TRACES_EXPORTER=none logs export errors."""
    client = services.engine.client()  # type: ignore[attr-defined]
    script = (
        'echo "level=info msg=\\"listening on [::]:5000\\""; '
        'echo "traces export: Post \\"https://localhost:4318/v1/traces\\": connection refused"; '
        'echo "level=error msg=\\"otel exporter\\" endpoint=localhost:4318"; '
        'echo "level=info msg=\\"response completed\\""'
    )
    noisy = client.containers.run(
        DEFAULT_IMAGE, ["-c", script], entrypoint=["sh"], name=f"noisy-{uuid.uuid4().hex[:6]}", detach=True
    )
    try:
        noisy.wait(timeout=30)
        lines = registry_container.registry_logs(noisy, tail=50)
    finally:
        noisy.remove(force=True)
    assert lines == ['level=info msg="listening on [::]:5000"', 'level=info msg="response completed"']


def test_the_configuration_summary_applies_the_environment_over_the_file() -> None:
    config_file = {
        "storage": {"cache": {"blobdescriptor": "inmemory"}, "filesystem": {"rootdirectory": "/data"}},
        "http": {"addr": ":5000", "secret": "from-the-file"},
        "notifications": {
            "endpoints": [{"name": "hook", "url": "https://user:hunter2@hooks.lan/registry", "headers": {"X": ["y"]}}]
        },
    }
    env = {
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR": "redis",
        "REGISTRY_STORAGE_MAINTENANCE_READONLY": '{"enabled":true}',
        "REGISTRY_REDIS_ADDR": "redis:6379",
        "REGISTRY_REDIS_PASSWORD": "s3cret-redis",
        "REGISTRY_HTTP_ADDR": "0.0.0.0:5443",
    }
    summary = registry_container.config_summary(registry_container.effective_config(config_file, env))

    assert summary["delete_enabled"] is True
    assert summary["cache_type"] == "redis"
    assert summary["read_only"] is True
    assert summary["http_secret_set"] is True and summary["redis_password_set"] is True
    assert summary["data_root"] == "/data"
    assert registry_container.listen_port(registry_container.effective_config(config_file, env)) == 5443
    assert summary["notifications"] == [
        {"name": "hook", "url": f"https://{masking.MASK}@hooks.lan/registry", "disabled": False}
    ]
    shown = repr(summary) + repr(masking.masked_env(env))
    assert "hunter2" not in shown and "s3cret-redis" not in shown and "from-the-file" not in shown
    assert registry_container.config_summary({})["delete_enabled"] is False  # the official image's default


def test_it_reads_the_version_of_registry_2_and_3() -> None:
    assert registry_container.parse_version("registry github.com/distribution/distribution/v3 v3.1.1") == "3.1.1"
    assert registry_container.parse_version("registry github.com/docker/distribution 2.8.2+ds1") == "2.8.2"


def test_it_parses_docker_start_times_with_nanoseconds() -> None:
    started = snapshot.started_at({"started_at": "2026-11-27T01:47:34.130531501Z"})
    assert started is not None and started.microsecond == 130531 and started.utcoffset().total_seconds() == 0
    assert snapshot.started_at({"started_at": None}) is None

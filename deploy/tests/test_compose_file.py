"""docker-compose.yml says what the deployment promises; these read it (fast: part of make test)."""

import re
from pathlib import Path

import pytest

from deploy.tests import compose

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ("web", "worker", "beat")
VARIABLES = {"REGISTRY_HTTP_SECRET": "s3cret", "REGISTRY_EVENTS_TOKEN": "ev3nts"}


def services() -> dict[str, dict]:
    return compose.interpolate(compose.load()["services"], VARIABLES)


def documented_variables() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))


def test_every_service_has_a_health_check() -> None:
    assert set(services()) == {"registry", "registry-redis", "redis", *DASHBOARD}
    for name, svc in services().items():
        assert svc["healthcheck"]["test"], name


def test_every_dependency_waits_until_it_is_healthy() -> None:
    for name, svc in services().items():
        for dependency, condition in (svc.get("depends_on") or {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    assert set(services()["worker"]["depends_on"]) == {"redis", "web"}  # web migrates first
    assert set(services()["beat"]["depends_on"]) == {"redis", "web"}


def test_the_worker_runs_beat_and_the_beat_service_is_an_optional_profile() -> None:
    """Issue 28: one process fewer on the NAS; a separate beat only when asked for."""
    assert services()["beat"]["profiles"] == ["separate-beat"]
    assert "profiles" not in services()["web"] and "profiles" not in services()["worker"]
    environment = services()["worker"]["environment"]
    assert (environment["BEAT_IN_WORKER"], environment["CELERY_POOL"]) == ("true", "threads")
    assert services()["web"]["environment"]["WEB_WORKERS"] == "1"


def test_web_and_worker_have_memory_limits_that_the_readme_measured() -> None:
    assert (services()["web"]["mem_limit"], services()["worker"]["mem_limit"]) == ("256m", "384m")
    readme = (ROOT / "README.md").read_text()
    assert "`WEB_MEM_LIMIT`" in readme and "`WORKER_MEM_LIMIT`" in readme


def test_web_worker_and_beat_are_one_image_with_three_commands() -> None:
    dashboard = [services()[name] for name in DASHBOARD]
    assert len({svc["image"] for svc in dashboard}) == 1
    assert [svc["command"] for svc in dashboard] == [["web"], ["worker"], ["beat"]]
    assert all(svc["build"]["args"]["BASE_IMAGE"] == "python:3.11-slim-bookworm" for svc in dashboard)


def test_only_the_worker_mounts_the_docker_socket() -> None:
    for name, svc in services().items():
        mounts_socket = any("docker.sock" in volume for volume in svc.get("volumes") or [])
        assert mounts_socket == (name == "worker"), name
    worker = services()["worker"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in worker["volumes"]
    assert worker["environment"]["DOCKER_HOST"] == "unix:///var/run/docker.sock"
    assert worker["group_add"] == ["0"]  # DOCKER_GID: the socket's group, README step 3


def test_the_dashboard_keeps_its_data_next_to_the_registry_data() -> None:
    for name in DASHBOARD:
        assert "/share/Container/registry-admin:/data" in services()[name]["volumes"], name
    assert services()["registry"]["volumes"] == ["/share/Container/registry-data:/var/lib/registry"]


def test_the_registry_is_the_installation_guides_production_configuration() -> None:
    registry = services()["registry"]
    assert registry["image"] == "registry:3"
    assert registry["container_name"] == "registry" == services()["worker"]["environment"]["REGISTRY_CONTAINER"]
    assert registry["restart"] == "always"
    assert registry["ports"] == ["5000:5000"]
    assert (registry["mem_limit"], registry["memswap_limit"], registry["cpus"]) == ("1g", "1g", 2)
    assert registry["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
    assert registry["environment"] == {
        "OTEL_TRACES_EXPORTER": "none",
        "REGISTRY_HTTP_ADDR": "0.0.0.0:5000",
        "REGISTRY_HTTP_SECRET": "s3cret",
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR": "redis",
        "REGISTRY_REDIS_ADDR": "registry-redis:6379",
        # Distribution 3's spelling of the same address (distribution#4486).
        "REGISTRY_REDIS_OPTIONS_ADDRS": "[registry-redis:6379]",
        "REGISTRY_NOTIFICATIONS_ENDPOINTS": registry["environment"]["REGISTRY_NOTIFICATIONS_ENDPOINTS"],
    }
    assert services()["registry-redis"]["mem_limit"] == "256m"
    assert services()["registry-redis"]["image"] == "redis:alpine"


def test_the_registry_secret_must_be_set() -> None:
    with pytest.raises(compose.ComposeError, match="REGISTRY_HTTP_SECRET"):
        compose.interpolate(compose.load()["services"], {"REGISTRY_EVENTS_TOKEN": "x"})


def test_the_registry_sends_its_events_to_web_with_the_token() -> None:
    import json

    from inventory.services import notifications_setting

    registry = services()["registry"]
    endpoints = json.loads(registry["environment"]["REGISTRY_NOTIFICATIONS_ENDPOINTS"])
    assert endpoints == json.loads(notifications_setting("http://web:8000/api/v1/events/", "ev3nts"))
    assert services()["web"]["environment"]["REGISTRY_EVENTS_TOKEN"] == "ev3nts"
    with pytest.raises(compose.ComposeError, match="REGISTRY_EVENTS_TOKEN"):
        compose.interpolate(compose.load()["services"], {"REGISTRY_HTTP_SECRET": "s3cret"})


def test_every_variable_the_compose_file_reads_is_in_env_example() -> None:
    assert compose.variables_used() - documented_variables() == set()


def test_every_dashboard_setting_reaches_the_containers() -> None:
    """A setting documented in .env.example but not passed by compose would silently do nothing."""
    passed = set(services()["web"]["environment"]) | set(services()["worker"]["environment"])
    compose_only = compose.variables_used() - passed
    not_for_containers = {"PORT", "DATA_DIR", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}
    missing = documented_variables() - passed - compose_only - not_for_containers
    assert missing == set()


def test_interpolation_follows_compose() -> None:
    text = "${A:-x} ${B-y} ${C} $$HOME"
    assert compose.interpolate(text, {"A": "", "B": ""}) == "x   $HOME"
    assert compose.interpolate(text, {"A": "a", "B": "b", "C": "c"}) == "a b c $HOME"
    with pytest.raises(compose.ComposeError, match="D: needed"):
        compose.interpolate("${D:?needed}", {"D": ""})
    assert compose.seconds_to_ns("1m30s") == 90 * 10**9

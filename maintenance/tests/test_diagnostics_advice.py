"""What the diagnostics advise for registries the test engine cannot run (registry:3 builds,
published ports, other restart policies): the checks read a worker's snapshot, given here as
the engine describes such a container."""

from __future__ import annotations

from typing import Any

import pytest

from maintenance import diagnostics, registry_container

# What `registry --version` prints: the real 3.1.1 and 2.8.2 (seen in the test registries), and
# 3.0.0 and 3.1.0 in the same format (distribution's version.go), which have CVE-2026-41888.
V3_1_1 = "registry github.com/distribution/distribution/v3 v3.1.1"
V2_8_2 = "registry github.com/docker/distribution 2.8.2+ds1"


def _snapshot(**changes: Any) -> dict[str, Any]:
    snapshot = {
        "ok": True,
        "name": "registry",
        "id": "0123456789abcdef",
        "image": "registry:3",
        "status": "running",
        "running": True,
        "paused": False,
        "started_at": "2026-11-27T01:00:00Z",
        "restart_policy": "always",
        "network_mode": "bridge",
        "ports": [{"container": "5000/tcp", "host": "0.0.0.0:5000"}],
        "listen_port": 5000,
        "version": "3.1.1",
        "config_read": True,
        "config": {"delete_enabled": True, "cache_type": "inmemory"},
        "otel_traces_exporter": "none",
        "engine": {"storage_driver": "overlay2"},
        "startup_log": ['time="..." level=info msg="listening on [::]:5000"'],
    }
    snapshot.update(changes)
    return snapshot


def _checks(**changes: Any) -> dict[str, diagnostics.Check]:
    return {check.id: check for check in diagnostics.container_checks(_snapshot(**changes))}


def test_the_installation_guides_intermediate_configuration_on_registry_3_passes_everything() -> None:
    assert [c.id for c in _checks().values() if not c.ok] == []


def test_registry_3_0_0_is_flagged_for_cve_2026_41888_with_the_upgrade() -> None:
    check = _checks(version="3.0.0")["registry_version"]
    assert not check.ok and check.level == "error"
    assert "CVE-2026-41888" in check.detail and "3.1.1" in check.advice


def test_registry_3_without_otel_traces_exporter_none_is_told_to_disable_it() -> None:
    check = _checks(otel_traces_exporter="")["otel_disabled"]
    assert not check.ok and check.snippet == "-e OTEL_TRACES_EXPORTER=none"
    assert "4270" in check.detail


def test_a_restart_policy_other_than_always_gets_the_docker_update_command() -> None:
    check = _checks(restart_policy="unless-stopped")["restart_policy"]
    assert not check.ok and check.snippet == "docker update --restart=always registry"


def test_an_unpublished_port_says_to_publish_it() -> None:
    check = _checks(ports=[])["port_published"]
    assert not check.ok and check.snippet == "-p 5000:5000"
    assert _checks(ports=[], network_mode="host")["port_published"].ok


def test_a_registry_that_never_logged_listening_on_fails_that_check() -> None:
    check = _checks(startup_log=['level=fatal msg="open /etc/distribution/config.yml: no such file"'])["log_listening"]
    assert not check.ok and "docker logs registry" in check.advice


def test_the_redis_cache_advice_names_the_keys_to_clear_after_gc() -> None:
    check = _checks(config={"delete_enabled": True, "cache_type": "redis"})["blob_cache"]
    assert check.ok and "blobs::*" in check.detail


def test_a_paused_registry_is_a_warning_with_how_to_resume() -> None:
    check = _checks(paused=True, status="paused")["container_running"]
    assert check.level == "warning" and "Resume" in check.advice


def test_no_worker_means_one_failing_check_that_says_to_start_one() -> None:
    (check,) = diagnostics.container_checks(None)
    assert check.id == "worker" and not check.ok and "worker" in check.advice


@pytest.mark.parametrize(
    "raw", [V3_1_1.replace("v3.1.1", "v3.0.0"), V3_1_1.replace("v3.1.1", "v3.0.1"), V3_1_1.replace("v3.1.1", "v3.1.0")]
)
def test_3_0_x_and_3_1_0_are_flagged_from_their_version_string(raw: str) -> None:
    version = registry_container.parse_version(raw)
    checks = _checks(version=version, config={"delete_enabled": False, "cache_type": "inmemory"})
    check = checks["registry_version"]
    assert not check.ok and check.level == "error" and "CVE-2026-41888" in check.detail
    assert "3.1.1" in check.advice and check.snippet == "docker pull registry:3"
    # Deletes "disabled" on these versions still delete tags: the deletes check says so.
    deletes = checks["deletes_enabled"]
    assert not deletes.ok and "still deletes tags" in deletes.detail and "CVE-2026-41888" in deletes.detail


def test_the_real_3_1_1_and_2_8_2_version_strings_get_their_own_advice() -> None:
    v3 = _checks(version=registry_container.parse_version(V3_1_1))["registry_version"]
    assert v3.ok and v3.detail.startswith("Distribution 3.1.1") and "deletes a tag alone" in v3.detail
    v2 = _checks(version=registry_container.parse_version(V2_8_2))["registry_version"]
    assert v2.ok and v2.detail.startswith("Distribution 2.8.2") and "--delete-untagged" in v2.detail
    disabled = _checks(version="3.1.1", config={"delete_enabled": False, "cache_type": "inmemory"})["deletes_enabled"]
    assert not disabled.ok and "still deletes tags" not in disabled.detail


@pytest.mark.parametrize(
    ("changes", "check_id", "title"),
    [
        ({"restart_policy": "no"}, "restart_policy", "The restart policy is 'no', not always"),
        ({"ports": []}, "port_published", "Port 5000 is not published"),
        ({"startup_log": []}, "log_listening", "The log does not show 'listening on'"),
        ({"otel_traces_exporter": ""}, "otel_disabled", "The OpenTelemetry exporter is on"),
        ({"engine": {"storage_driver": "vfs"}}, "storage_driver", "The engine's storage driver is vfs, not overlay2"),
        ({"version": "3.0.0"}, "registry_version", "Registry 3.0.0 is vulnerable (CVE-2026-41888)"),
        ({"version": None}, "registry_version", "The registry's version is unknown"),
        ({"paused": True}, "container_running", "The container is paused"),
        ({"running": False, "status": "exited"}, "container_running", "The container is not running (exited)"),
    ],
)
def test_a_check_that_does_not_pass_is_titled_by_what_is_wrong(
    changes: dict[str, Any], check_id: str, title: str
) -> None:
    """Issue 25: "Failing: Restart policy is always." read as the fault when the policy was "no"."""
    check = _checks(**changes)[check_id]
    assert not check.ok and check.title == title
    assert _checks()[check_id].ok  # and the passing one keeps its expected-state title

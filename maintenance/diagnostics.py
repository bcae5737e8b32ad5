"""The installation guide's verification and troubleshooting, as checks with advice.

Most checks read the container snapshot a worker records (``maintenance.snapshot``): the
web process never opens the engine. ``GET /v2/`` and the client-side ``insecure-registries``
advice are the web process's own, through the registry client and the settings.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.checks import ERROR, WARNING, Check, failed, passed, warned
from core.masking import mask_url
from maintenance.snapshot import Snapshot
from registry_client.client import RegistryError, get_client

# Distribution 3.0.x (up to the fix in 3.1.1) applies tag deletion even with storage.delete.enabled: false.
# (first affected, first fixed, CVE, what): the version comes from the container's `registry --version`.
VULNERABLE_RANGES = [
    ((3, 0, 0), (3, 1, 1), "CVE-2026-41888", "tag deletion ignores storage.delete.enabled: false"),
]
SNAPSHOT_MAX_AGE = 10.0
WORKER_WAIT = 8.0


@dataclass
class Report:
    checks: list[Check]
    checked_at: float
    container: str

    @property
    def ok(self) -> bool:
        """No check failed; warnings (a slow storage driver) do not make the registry unhealthy."""
        return all(check.level != ERROR for check in self.checks)

    @property
    def error_count(self) -> int:
        return sum(c.level == ERROR for c in self.checks)

    @property
    def warning_count(self) -> int:
        return sum(c.level == WARNING for c in self.checks)


def run(snapshot: Snapshot | None, wait: float = WORKER_WAIT) -> Report:
    """Every check: the engine's from a worker's ``snapshot`` (None: no worker answered within
    ``wait`` s), and the web process's own."""
    checks = container_checks(snapshot, wait)
    answers = registry_answers()
    checks.insert(min(len(checks), 5), answers)
    checks.append(insecure_registries(registry_answers=answers.ok))
    return Report(checks=checks, checked_at=time.time(), container=settings.REGISTRY_CONTAINER)


def container_checks(snapshot: Snapshot | None, wait: float = WORKER_WAIT) -> list[Check]:
    """The checks that need the engine, from a worker's snapshot."""
    name = settings.REGISTRY_CONTAINER
    if snapshot is None:
        return [
            failed(
                "worker",
                "A worker reaches the Docker engine",
                f"No Celery worker answered within {wait:g} s; only workers reach the engine.",
                "Start the worker (make run starts web, worker and beat) and give it the engine's socket.",
            )
        ]
    if not snapshot.get("ok"):
        return [
            failed(
                "container_exists",
                f"Container '{name}' exists",
                snapshot.get("error", ""),
                "Create it with the installation guide's docker run command, or set REGISTRY_CONTAINER to its name "
                "(docker ps shows it).",
            )
        ]
    summary = snapshot.get("config") or {}
    return [
        passed("container_exists", f"Container '{name}' exists", f"{snapshot['image']} ({snapshot['id'][:12]})"),
        _running(snapshot),
        _restart_policy(snapshot),
        _port(snapshot),
        _listening(snapshot),
        _deletes(snapshot, summary),
        _otel(snapshot),
        _storage_driver(snapshot),
        _version(snapshot),
        _blob_cache(summary),
    ]


def _running(snapshot: Snapshot) -> Check:
    title = "The container runs"
    if snapshot.get("paused"):
        return warned(
            "container_running",
            "The container is paused",
            "It is paused (prepare for snapshot): pulls and pushes hang until it is resumed.",
            "Resume it on the Registry page once the NAS snapshot is taken; it resumes by itself at the deadline.",
        )
    if not snapshot.get("running"):
        return failed(
            "container_running",
            f"The container is not running ({snapshot.get('status') or 'unknown'})",
            f"It is {snapshot.get('status')}.",
            f"Start it (docker start {snapshot['name']}) and read its log (docker logs {snapshot['name']}).",
        )
    started = (snapshot.get("started_at") or "")[:19].replace("T", " ")
    return passed("container_running", title, f"Running since {started} UTC." if started else "Running.")


def _restart_policy(snapshot: Snapshot) -> Check:
    title = "Restart policy is always"
    policy = snapshot.get("restart_policy") or "no"
    if policy == "always":
        return passed("restart_policy", title, "The registry comes back after a NAS reboot.")
    return failed(
        "restart_policy",
        f"The restart policy is '{policy}', not always",
        f"The restart policy is '{policy}': the registry stays down after a reboot or a crash.",
        "Change it in place (no need to recreate the container):",
        f"docker update --restart=always {snapshot['name']}",
    )


def _port(snapshot: Snapshot) -> Check:
    port = snapshot.get("listen_port") or 5000
    title = f"Port {port} is published"
    if snapshot.get("network_mode") == "host":
        return passed("port_published", title, f"Host network: the registry listens on the NAS's port {port} itself.")
    published = [m["host"] for m in snapshot.get("ports") or [] if m["container"] == f"{port}/tcp"]
    if published:
        return passed("port_published", title, f"{port}/tcp -> {', '.join(published)}")
    return failed(
        "port_published",
        f"Port {port} is not published",
        f"{port}/tcp is not published (docker port {snapshot['name']} shows nothing for it): clients cannot reach it.",
        "Recreate the container with the port published (Container Station's form is known to drop it: use the "
        "installation guide's docker run command), or with --network=host.",
        f"-p {port}:{port}",
    )


def _listening(snapshot: Snapshot) -> Check:
    title = "The log shows 'listening on'"
    lines = [line for line in snapshot.get("startup_log") or [] if "listening on" in line]
    if lines:
        return passed("log_listening", title, lines[0][-200:])
    return failed(
        "log_listening",
        "The log does not show 'listening on'",
        "The registry did not log 'listening on' after its last start: it is not serving.",
        f"Read docker logs {snapshot['name']}: a bad config file, a port already in use or an unreadable data "
        "directory stop it at start.",
    )


def _deletes(snapshot: Snapshot, summary: dict[str, Any]) -> Check:
    title = "Deletes are enabled"
    if summary.get("delete_enabled"):
        return passed("deletes_enabled", title, "storage.delete.enabled is true: images can be deleted and collected.")
    where = "" if snapshot.get("config_read") else " (the config file could not be read; judged from the environment)"
    known = vulnerability(snapshot.get("version"))
    if known is not None:
        where += (
            f"; but Distribution {snapshot.get('version')} still deletes tags ({known[0]}): anyone who can push can "
            f"untag images until it is upgraded to {known[2]}"
        )
    return failed(
        "deletes_enabled",
        "Deletes are disabled",
        f"Deleting is off: the registry refuses every delete with 405 UNSUPPORTED{where}.",
        "Recreate the container with REGISTRY_STORAGE_DELETE_ENABLED=true, as the installation guide's "
        "Intermediate and Production configurations do (docker restart keeps the old environment).",
        "-e REGISTRY_STORAGE_DELETE_ENABLED=true",
    )


def _numbers(version: str | None) -> tuple[int, ...] | None:
    """``3.0.2`` -> (3, 0, 2); None for what is not a version."""
    parts = re.findall(r"\d+", (version or "").split("-")[0].split("+")[0])
    return tuple(int(part) for part in parts[:3]) if parts else None


def vulnerability(version: str | None) -> tuple[str, str, str] | None:
    """(CVE, what, fixed-in) for a known-vulnerable registry version, else None."""
    numbers = _numbers(version)
    if numbers is None:
        return None
    for first, fixed, cve, what in VULNERABLE_RANGES:
        if first <= numbers < fixed:
            return cve, what, ".".join(map(str, fixed))
    return None


def _major(version: str | None) -> int | None:
    try:
        return int((version or "").split(".")[0])
    except ValueError:
        return None


def _otel(snapshot: Snapshot) -> Check:
    title = "The OpenTelemetry exporter is disabled"
    value = snapshot.get("otel_traces_exporter") or ""
    if value == "none":
        return passed("otel_disabled", title, "OTEL_TRACES_EXPORTER=none")
    major = _major(snapshot.get("version"))
    if major is not None and major < 3:
        return passed("otel_disabled", title, f"Distribution {snapshot.get('version')} has no trace exporter.")
    return failed(
        "otel_disabled",
        "The OpenTelemetry exporter is on",
        f"OTEL_TRACES_EXPORTER is {value or 'unset'}: registry 3 then logs 'traces export' errors to "
        "localhost:4318 every few seconds (distribution#4270).",
        "Recreate the container with the exporter disabled, as every configuration of the installation guide does.",
        "-e OTEL_TRACES_EXPORTER=none",
    )


def _storage_driver(snapshot: Snapshot) -> Check:
    title = "The engine's storage driver is overlay2"
    driver = (snapshot.get("engine") or {}).get("storage_driver") or "unknown"
    if driver == "overlay2":
        return passed("storage_driver", title, "overlay2: the best driver for the engine's images and containers.")
    return warned(
        "storage_driver",
        f"The engine's storage driver is {driver}, not overlay2",
        f"The engine uses '{driver}'. It holds images and containers (not the registry's data, which is a bind "
        "mount), and drivers such as vfs copy every layer in full: slower and larger.",
        "Use overlay2 (docker info | grep 'Storage Driver'); on QNAP, keep Container Station's Docker root on "
        "an SSD volume (Container Station > Preferences).",
    )


def _version(snapshot: Snapshot) -> Check:
    title = "No known-vulnerable registry version"
    version = snapshot.get("version")
    if not version:
        return warned(
            "registry_version",
            "The registry's version is unknown",
            "The version is unknown: registry --version could not run (paused or stopped container).",
            "Resume or start the container and run the diagnostics again.",
        )
    known = vulnerability(version)
    if known is not None:
        cve, what, fixed = known
        return failed(
            "registry_version",
            f"Registry {version} is vulnerable ({cve})",
            f"Distribution {version} has {cve}: {what}.",
            f"Upgrade to {fixed} or later: docker pull registry:3, then recreate the container with the same command.",
            "docker pull registry:3",
        )
    note = ""
    if _major(version) == 2:
        note = " (2.x: deleting a tag alone is unsupported; garbage collection refuses --delete-untagged)"
    elif (_major(version) or 0) >= 3:
        note = " (deletes a tag alone; garbage collection may use --delete-untagged and keeps multi-arch children)"
    return passed("registry_version", title, f"Distribution {version}{note}.")


def _blob_cache(summary: dict[str, Any]) -> Check:
    title = "Blob-descriptor cache"
    cache_type = summary.get("cache_type") or "none"
    meanings = {
        "inmemory": "inmemory: after a garbage collection the running registry still believes deleted layers "
        "exist (distribution#1803), so a re-push skips them and pulls then fail. Restart the registry after "
        "every real GC, including one run by hand.",
        "redis": "redis: deleted layers stay listed in Redis after a garbage collection (distribution#1803). "
        "After a real GC restart the registry and delete its blobs::* and repository::* keys.",
        "none": "none: nothing goes stale after a garbage collection, at the cost of more storage reads.",
    }
    return passed(
        "blob_cache",
        title,
        meanings.get(cache_type, f"{cache_type}: restart the registry after a garbage collection."),
    )


def registry_answers() -> Check:
    """The installation guide's ``curl http://localhost:5000/v2/`` (expected ``{}``), from the dashboard."""
    title = "GET /v2/ answers {}"
    url = f"{settings.REGISTRY_URL}/v2/"
    try:
        response = get_client().request("GET", "/v2/")
    except RegistryError as e:
        return failed(
            "v2_answers",
            "GET /v2/ gets no answer",
            e.message,
            "Check REGISTRY_URL, that the container runs and that the port is reachable from the dashboard "
            "(QNAP firewall: Control Panel > Security).",
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and body == {}:
        return passed("v2_answers", title, f"{url} answered 200 {{}}.")
    return failed(
        "v2_answers",
        f"GET /v2/ answers {response.status_code}, not {{}}",
        f"{url} answered {response.status_code} {response.text[:100]!r}.",
        "REGISTRY_URL should point at the registry itself (Distribution's v2 API), not at a proxy page.",
    )


def insecure_registries(registry_answers: bool = True) -> Check:
    """What a Docker client needs before it pushes to a plain-HTTP registry (the installation guide's
    client section). Never OK while the registry does not answer: no client can push then."""
    # Titled by what a client needs, not "can push": this reads settings only and says nothing of
    # whether the registry answers (that is the GET /v2/ check).
    title = "What Docker clients need to push"
    public = settings.REGISTRY_PUBLIC_HOST
    if not registry_answers:
        return failed(
            "insecure_registries",
            "Docker clients cannot push: the registry does not answer",
            f"GET {mask_url(settings.REGISTRY_URL)}/v2/ gets no answer (see that check), so a docker push to "
            f"{public} fails whatever the clients are set up with.",
            "Start the registry (Registry page) or fix REGISTRY_URL first; then this check says what clients need.",
        )
    if urlsplit(settings.REGISTRY_URL).scheme == "https":
        return passed("insecure_registries", title, f"{public} serves HTTPS: no insecure-registries entry needed.")
    snippet = json.dumps({"insecure-registries": [public]}, indent=2)
    return passed(
        "insecure_registries",
        title,
        f"{public} serves plain HTTP: Docker clients refuse it until it is listed as insecure (HTTPS error).",
        "On each client add this to /etc/docker/daemon.json (Linux; then sudo systemctl restart docker) or to "
        "Docker Desktop > Settings > Docker Engine (Apply & Restart):",
        snippet,
    )

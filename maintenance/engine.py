"""The Docker engine on the NAS: the only module that talks to it.

Only Celery workers import and use this (on the NAS the engine's socket is root); the web
process never opens it. The connection comes from DOCKER_HOST, DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH, read by ``docker.from_env`` as the docker CLI reads them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import docker
import docker.errors
import yaml
from django.conf import settings
from docker.models.containers import Container

ENGINE_TIMEOUT = 30


class EngineError(Exception):
    """The engine or the registry container cannot do what was asked; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ContainerSummary:
    name: str
    id: str
    status: str
    image: str


def describe_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect() -> docker.DockerClient:
    """A client for the configured engine, or EngineError saying how to reach it."""
    host = describe_host()
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT)
        client.ping()
    except docker.errors.DockerException as e:
        raise EngineError(_explain_connect_failure(host, e)) from e
    return client


def _explain_connect_failure(host: str, error: Exception) -> str:
    text = str(error)
    if "FileNotFoundError" in text or "No such file or directory" in text:
        return (
            f"The Docker engine socket at {host} does not exist: mount the engine's socket "
            "into the worker or set DOCKER_HOST."
        )
    if "PermissionError" in text or "Permission denied" in text:
        return f"The worker may not open the Docker engine socket at {host} (permission denied)."
    if "Connection refused" in text:
        return f"The Docker engine at {host} refused the connection: is dockerd running?"
    return f"Cannot reach the Docker engine at {host}: {text[:200]}"


def registry_container(client: docker.DockerClient) -> ContainerSummary:
    """The registry's container (REGISTRY_CONTAINER), or EngineError when it is not there."""
    name = settings.REGISTRY_CONTAINER
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        raise EngineError(
            f"No container named '{name}' on the Docker engine at {describe_host()}: "
            "set REGISTRY_CONTAINER to the registry container's name (docker ps shows it)."
        ) from None
    except docker.errors.APIError as e:
        raise EngineError(f"The Docker engine failed to look up '{name}': {e.explanation or e}") from e
    image = container.attrs.get("Config", {}).get("Image", "")
    return ContainerSummary(name=name, id=container.id or "", status=container.status, image=image)


# === Garbage collection: exec, inspect, recreate (issue 5) ==============================


# === Statistics, logs, pause/unpause/restart (issue 6) =================================
#
# Everything the statistics job, the container panel, the snapshot pause and the
# diagnostics need from the engine. Workers call these; results are plain dataclasses and
# dicts the web process reads back from the cache or the database.

DEFAULT_DATA_ROOT = "/var/lib/registry"
BLOBS_UNDER_DATA_ROOT = "docker/registry/v2/blobs"
DEFAULT_REGISTRY_PORT = 5000

# Env names whose values are never shown nor logged (REGISTRY_HTTP_SECRET, REGISTRY_REDIS_PASSWORD,
# S3 keys...). Notification endpoints and headers can carry Authorization values too.
SECRET_NAME_PARTS = ("SECRET", "PASSWORD", "PASSWD", "TOKEN", "KEY", "CREDENTIAL", "NOTIFICATIONS", "HEADERS")
MASK = "••••••"

# registry:3 without OTEL_TRACES_EXPORTER=none logs an exporter error every few seconds
# (distribution#4270); such lines are noise on the panel.
OTEL_NOISE_MARKERS = ("traces export", "localhost:4318")

PAUSED_MESSAGE = (
    "The registry container '{name}' is paused (prepare for snapshot): commands cannot run in a paused "
    "container. Resume it on the Registry page (or wait for the automatic resume), then try again."
)


@dataclass(frozen=True)
class ResourceUsage:
    """One reading of ``docker stats``, computed the way the docker CLI computes it."""

    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    block_read_bytes: int
    block_write_bytes: int
    pids: int


@dataclass(frozen=True)
class StorageUsage:
    """What the registry's data root holds on disk (``du -sk``) and how many blobs it stores."""

    bytes: int
    blob_count: int


def get_registry_container(client: docker.DockerClient) -> Container:
    """The registry's docker-py container object, or EngineError naming REGISTRY_CONTAINER."""
    name = settings.REGISTRY_CONTAINER
    try:
        return client.containers.get(name)
    except docker.errors.NotFound:
        raise EngineError(
            f"No container named '{name}' on the Docker engine at {describe_host()}: "
            "set REGISTRY_CONTAINER to the registry container's name (docker ps shows it)."
        ) from None
    except docker.errors.APIError as e:
        raise EngineError(f"The Docker engine failed to look up '{name}': {e.explanation or e}") from e


def is_paused(client: docker.DockerClient) -> bool:
    """Whether the registry container is paused (``docker pause``)."""
    container = get_registry_container(client)
    return bool(container.attrs.get("State", {}).get("Paused"))


def ensure_not_paused(client: docker.DockerClient) -> None:
    """Raise EngineError with a message a user can act on when the registry is paused.

    GC and anything else that execs into the container calls this first: the engine
    answers an exec into a paused container with a bare 409.
    """
    if is_paused(client):
        raise EngineError(PAUSED_MESSAGE.format(name=settings.REGISTRY_CONTAINER))


def exec_output(container: Container, command: list[str]) -> str:
    """Run a short command in the container; its stdout, or EngineError saying why not."""
    try:
        code, output = container.exec_run(command, stdout=True, stderr=True, demux=True)
    except docker.errors.APIError as e:
        if e.status_code == 409 and "paused" in str(e.explanation or e):
            raise EngineError(PAUSED_MESSAGE.format(name=container.name)) from e
        raise EngineError(f"Cannot run '{command[0]}' in '{container.name}': {e.explanation or e}") from e
    stdout, stderr = output if isinstance(output, tuple) else (output, b"")
    text = (stdout or b"").decode(errors="replace")
    if code != 0:
        detail = ((stderr or b"").decode(errors="replace") or text).strip()[:300]
        raise EngineError(f"'{' '.join(command)}' in '{container.name}' exited with {code}: {detail}")
    return text


# --- Resource usage -----------------------------------------------------------------


def resource_usage(client: docker.DockerClient) -> ResourceUsage:
    container = get_registry_container(client)
    try:
        raw = container.stats(stream=False)
    except docker.errors.APIError as e:
        raise EngineError(f"The engine gave no statistics for '{container.name}': {e.explanation or e}") from e
    return usage_from_stats(raw)


def usage_from_stats(stats: dict[str, Any]) -> ResourceUsage:
    """The docker CLI's arithmetic (cli/command/container/stats_helpers.go) on one stats answer."""
    cpu = stats.get("cpu_stats") or {}
    precpu = stats.get("precpu_stats") or {}
    cpu_delta = _nested_int(cpu, "cpu_usage", "total_usage") - _nested_int(precpu, "cpu_usage", "total_usage")
    system_delta = int(cpu.get("system_cpu_usage") or 0) - int(precpu.get("system_cpu_usage") or 0)
    online_cpus = int(cpu.get("online_cpus") or 0) or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [])
    cpu_percent = 0.0
    if cpu_delta > 0 and system_delta > 0:
        cpu_percent = cpu_delta / system_delta * online_cpus * 100.0

    memory = stats.get("memory_stats") or {}
    usage = int(memory.get("usage") or 0)
    counters = memory.get("stats") or {}
    used = usage
    # cgroup v1 reports total_inactive_file, v2 inactive_file; the CLI subtracts whichever exists.
    if "total_inactive_file" in counters and counters["total_inactive_file"] < usage:
        used = usage - int(counters["total_inactive_file"])
    elif "inactive_file" in counters and counters["inactive_file"] < usage:
        used = usage - int(counters["inactive_file"])

    networks = (stats.get("networks") or {}).values()
    block_read = block_write = 0
    for entry in (stats.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            block_read += int(entry.get("value") or 0)
        elif op == "write":
            block_write += int(entry.get("value") or 0)
    return ResourceUsage(
        cpu_percent=round(cpu_percent, 3),
        memory_bytes=used,
        memory_limit_bytes=int(memory.get("limit") or 0),
        net_rx_bytes=sum(int(n.get("rx_bytes") or 0) for n in networks),
        net_tx_bytes=sum(int(n.get("tx_bytes") or 0) for n in networks),
        block_read_bytes=block_read,
        block_write_bytes=block_write,
        pids=int((stats.get("pids_stats") or {}).get("current") or 0),
    )


def _nested_int(data: dict[str, Any], *keys: str) -> int:
    value: Any = data
    for key in keys:
        value = (value or {}).get(key)
    return int(value or 0)


# --- Storage, measured inside the container ----------------------------------------


def measure_storage(client: docker.DockerClient, data_root: str) -> StorageUsage:
    """``du -sk`` of the data root and the number of blob ``data`` files, with busybox in the container."""
    container = get_registry_container(client)
    blobs = f"{data_root.rstrip('/')}/{BLOBS_UNDER_DATA_ROOT}"
    script = 'du -sk "$1" | cut -f1; if [ -d "$2" ]; then find "$2" -type f -name data | wc -l; else echo 0; fi'
    output = exec_output(container, ["sh", "-c", script, "measure", data_root, blobs])
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    try:
        kib, count = int(lines[0]), int(lines[1])
    except (IndexError, ValueError):
        raise EngineError(f"Unexpected answer measuring {data_root} in '{container.name}': {output[:200]!r}") from None
    return StorageUsage(bytes=kib * 1024, blob_count=count)


# --- Inspection: the container panel's facts ---------------------------------------


def inspect_registry(client: docker.DockerClient, log_lines: int) -> dict[str, Any]:
    """Everything the container panel and the diagnostics show, secrets masked.

    Runs ``registry --version`` and reads the config file only while the container runs and
    is not paused (exec is impossible otherwise); those fields are then None.
    """
    container = get_registry_container(client)
    attrs = container.attrs
    state = attrs.get("State") or {}
    host_config = attrs.get("HostConfig") or {}
    config = attrs.get("Config") or {}
    env = env_of(config.get("Env") or [])
    can_exec = bool(state.get("Running")) and not state.get("Paused")

    version_raw = registry_config = None
    exec_error = ""
    if can_exec:
        try:
            version_raw = exec_output(container, ["registry", "--version"]).strip()
            registry_config = read_registry_config(container)
        except EngineError as e:
            exec_error = e.message
    effective = effective_config(registry_config or {}, env)
    started_at = state.get("StartedAt") or ""
    engine_info = _engine_info(client)
    return {
        "name": container.name,
        "id": container.id,
        "status": "paused" if state.get("Paused") else state.get("Status", container.status),
        "running": bool(state.get("Running")),
        "paused": bool(state.get("Paused")),
        "image": config.get("Image", ""),
        "image_id": attrs.get("Image", ""),
        "version_raw": version_raw,
        "version": parse_version(version_raw) if version_raw else None,
        "started_at": started_at if not started_at.startswith("0001-") else None,
        "restart_policy": (host_config.get("RestartPolicy") or {}).get("Name") or "no",
        "restart_count": attrs.get("RestartCount", 0),
        "network_mode": host_config.get("NetworkMode", ""),
        "ports": _port_mappings(attrs),
        "listen_port": listen_port(effective),
        "limits": {
            "memory_bytes": host_config.get("Memory") or 0,
            "memory_swap_bytes": host_config.get("MemorySwap") or 0,
            "cpus": (host_config.get("NanoCpus") or 0) / 1e9
            or ((host_config.get("CpuQuota") or 0) / host_config["CpuPeriod"] if host_config.get("CpuPeriod") else 0),
            "pids": host_config.get("PidsLimit") or 0,
        },
        "log_config": {
            "type": (host_config.get("LogConfig") or {}).get("Type", ""),
            "options": (host_config.get("LogConfig") or {}).get("Config") or {},
        },
        "config_read": registry_config is not None,
        "config": config_summary(effective),
        "env": masked_env(env),
        "otel_traces_exporter": env.get("OTEL_TRACES_EXPORTER", ""),
        "exec_error": exec_error,
        "engine": engine_info,
        "startup_log": startup_log(container, started_at) if state.get("Running") else [],
        "log_lines": registry_logs(container, log_lines),
    }


def env_of(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        env[name] = value
    return env


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


def mask_url(url: str) -> str:
    """``scheme://user:pass@host`` -> ``scheme://••••••@host``."""
    return re.sub(r"(://)[^/@\s]+@", rf"\1{MASK}@", url)


def masked_env(env: dict[str, str]) -> list[list[str]]:
    """The container's environment for display: secret values replaced, URLs without credentials."""
    return [[name, MASK if is_secret_name(name) and value else mask_url(value)] for name, value in sorted(env.items())]


def read_registry_config(container: Container) -> dict[str, Any] | None:
    """The registry's config file (REGISTRY_CONFIG_PATH) parsed, or None if it cannot be read."""
    try:
        text = exec_output(container, ["cat", settings.REGISTRY_CONFIG_PATH])
    except EngineError:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def effective_config(config: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The file's settings with REGISTRY_* variables applied, as Distribution applies them.

    ``REGISTRY_STORAGE_DELETE_ENABLED=true`` sets ``storage.delete.enabled``; values are
    read as YAML, so ``REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled":true}`` is a map.
    """
    merged: dict[str, Any] = _deep_copy(config)
    for name, raw in sorted(env.items()):
        if not name.startswith("REGISTRY_") or name == "REGISTRY_":
            continue
        path = name[len("REGISTRY_") :].lower().split("_")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = merged
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[path[-1]] = value
    return merged


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def config_summary(config: dict[str, Any]) -> dict[str, Any]:
    """What the panel and the diagnostics say about the configuration; never a secret value."""
    readonly = _dig(config, "storage", "maintenance", "readonly")
    endpoints = _dig(config, "notifications", "endpoints") or []
    notifications = [
        {"name": str(e.get("name", "")), "url": mask_url(str(e.get("url", ""))), "disabled": _truthy(e.get("disabled"))}
        for e in endpoints
        if isinstance(e, dict)
    ]
    auth = _dig(config, "auth")
    redis_addr = _dig(config, "redis", "addr")
    return {
        "delete_enabled": _truthy(_dig(config, "storage", "delete", "enabled")),
        "cache_type": str(_dig(config, "storage", "cache", "blobdescriptor") or "none"),
        "read_only": _truthy(readonly.get("enabled")) if isinstance(readonly, dict) else _truthy(readonly),
        "notifications": notifications,
        "auth": ", ".join(sorted(auth)) if isinstance(auth, dict) and auth else "none",
        "http_addr": str(_dig(config, "http", "addr") or ""),
        "http_secret_set": bool(_dig(config, "http", "secret")),
        "redis_addr": str(redis_addr) if redis_addr else "",
        "redis_password_set": bool(_dig(config, "redis", "password")),
        "data_root": data_root(config),
        "log_level": str(_dig(config, "log", "level") or "info"),
    }


def data_root(config: dict[str, Any]) -> str:
    return str(_dig(config, "storage", "filesystem", "rootdirectory") or DEFAULT_DATA_ROOT)


def listen_port(config: dict[str, Any]) -> int:
    """The port of ``http.addr`` (``:5000``, ``0.0.0.0:5000``); 5000 when unset."""
    addr = str(_dig(config, "http", "addr") or "")
    port = addr.rsplit(":", 1)[-1] if ":" in addr else ""
    return int(port) if port.isdigit() else DEFAULT_REGISTRY_PORT


def parse_version(raw: str) -> str:
    """``registry github.com/distribution/distribution/v3 v3.1.1`` -> ``3.1.1``; ``2.8.2+ds1`` -> ``2.8.2``."""
    match = re.search(r"v?(\d+\.\d+\.\d+)", raw.split()[-1] if raw.split() else "")
    return match.group(1) if match else raw.strip()


def _port_mappings(attrs: dict[str, Any]) -> list[dict[str, str]]:
    """``docker port``: container port -> host address, from the running bindings or the configured ones."""
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or (attrs.get("HostConfig") or {}).get("PortBindings")
    mappings = []
    for container_port, bindings in sorted((ports or {}).items()):
        for binding in bindings or []:
            host_ip = binding.get("HostIp") or "0.0.0.0"  # noqa: S104 - describing docker's default, not binding
            mappings.append({"container": container_port, "host": f"{host_ip}:{binding.get('HostPort', '')}"})
    return mappings


def _engine_info(client: docker.DockerClient) -> dict[str, Any]:
    try:
        info = client.info()
    except docker.errors.APIError as e:
        return {"error": str(e.explanation or e)}
    return {
        "storage_driver": info.get("Driver", ""),
        "server_version": info.get("ServerVersion", ""),
        "cgroup_version": str(info.get("CgroupVersion", "")),
        "host": describe_host(),
    }


# --- Logs ---------------------------------------------------------------------------


def is_noise(line: str) -> bool:
    return any(marker in line for marker in OTEL_NOISE_MARKERS)


def registry_logs(container: Container, tail: int) -> list[str]:
    """The last ``tail`` lines of ``docker logs`` without the OpenTelemetry exporter noise (distribution#4270)."""
    try:
        raw = container.logs(tail=tail, stdout=True, stderr=True)
    except docker.errors.APIError as e:
        raise EngineError(f"The engine gave no logs for '{container.name}': {e.explanation or e}") from e
    return [line for line in raw.decode(errors="replace").splitlines() if line and not is_noise(line)]


def startup_log(container: Container, started_at: str, seconds: int = 120) -> list[str]:
    """The lines logged in the first minutes after the last start, where ``listening on`` appears."""
    start = _parse_docker_time(started_at)
    if start is None:
        return []
    try:
        raw = container.logs(since=start, until=start + timedelta(seconds=seconds), stdout=True, stderr=True)
    except docker.errors.APIError:
        return []
    return [line for line in raw.decode(errors="replace").splitlines()[:200] if line and not is_noise(line)]


def _parse_docker_time(value: str) -> datetime | None:
    """Docker's RFC 3339 times carry nanoseconds; Python takes microseconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", value or "")
    if not match or value.startswith("0001-"):
        return None
    fraction = (match.group(2) or ".0")[:7]
    return datetime.fromisoformat(match.group(1) + fraction).replace(tzinfo=UTC)


# --- Pause, unpause, restart ----------------------------------------------------------


def pause_registry(client: docker.DockerClient) -> None:
    container = get_registry_container(client)
    state = container.attrs.get("State") or {}
    if state.get("Paused"):
        return
    if not state.get("Running"):
        raise EngineError(
            f"The registry container '{container.name}' is {container.status}, not running: nothing to pause."
        )
    _call(container, "pause", container.pause)


def unpause_registry(client: docker.DockerClient) -> bool:
    """Unpause; False when it was not paused (nothing to do)."""
    container = get_registry_container(client)
    if not (container.attrs.get("State") or {}).get("Paused"):
        return False
    _call(container, "unpause", container.unpause)
    return True


def restart_registry(client: docker.DockerClient, stop_timeout: int = 10) -> None:
    """``docker restart``: keeps the container's configuration; also resumes a paused one."""
    container = get_registry_container(client)
    if (container.attrs.get("State") or {}).get("Paused"):
        _call(container, "unpause", container.unpause)
    _call(container, "restart", lambda: container.restart(timeout=stop_timeout))


def _call(container: Container, verb: str, action: Any) -> None:
    try:
        action()
    except docker.errors.APIError as e:
        raise EngineError(f"The engine refused to {verb} '{container.name}': {e.explanation or e}") from e

"""The registry container's configuration: read it, save it, recreate it, compare it.

Built on ``maintenance.engine`` (the SDK calls): what the registry's config file and REGISTRY_*
variables say (config path, data root, the panel's facts), the /containers/create body that
gives back an inspected container, and the normalised view that says whether a recreated one
came back the same. Workers only, like the engine client.
"""

from __future__ import annotations

import contextlib
import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import yaml
from django.conf import settings
from django.utils import timezone

from core.masking import mask_log_line, mask_url, masked_env
from core.timestamps import parse_docker_time
from maintenance import engine
from maintenance.engine import DockerClient, DockerContainer, EngineError, exec_output, exec_stream
from maintenance.models import RegistryMaintenance
from registry_admin.env import parse_bool
from registry_client import client as registry

if TYPE_CHECKING:
    from jobs.models import Job

#: The only form of the read-only switch that works as an environment variable; the
#: ``..._READONLY_ENABLED=true`` form panics or is silently ignored (REGISTRY-FACTS.md).
READONLY_ENV = 'REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled":true}'

LEGACY_CONFIG_PATH = "/etc/docker/registry/config.yml"

DEFAULT_DATA_ROOT = "/var/lib/registry"

BLOBS_UNDER_DATA_ROOT = "docker/registry/v2/blobs"

DEFAULT_REGISTRY_PORT = 5000

#: Labels our one-off GC containers, so a watchdog can find and remove leftovers.
GC_HELPER_LABEL = "registry-admin.gc-helper"

# registry:3 without OTEL_TRACES_EXPORTER=none logs an exporter error every few seconds
# (distribution#4270); such lines are noise on the panel.
OTEL_NOISE_MARKERS = ("traces export", "localhost:4318")

#: The label an image may carry with its release; OCI's standard key.
VERSION_LABEL = "org.opencontainers.image.version"


@dataclass(frozen=True)
class StorageUsage:
    """What the registry's data root holds on disk (``du -sk``) and how many blobs it stores."""

    bytes: int
    blob_count: int
    # The volume holding the data root (``df -Pk``): None when df could not say.
    volume_total_bytes: int | None = None
    volume_used_bytes: int | None = None

    @property
    def volume_percent(self) -> int | None:
        """How full the volume is, in whole percent, as df rounds it (up)."""
        if not self.volume_total_bytes or self.volume_used_bytes is None:
            return None
        return -(-self.volume_used_bytes * 100 // self.volume_total_bytes)


def registry_version(container: Any) -> str:
    """``registry --version`` in the container, e.g. ``github.com/docker/distribution 2.8.2+ds1``."""
    result = exec_stream(container, ["registry", "--version"])
    text = (result.stdout or result.stderr).strip()
    if result.exit_code != 0 or not text:
        raise EngineError(f"'registry --version' failed in '{container.name}' (exit {result.exit_code}): {text[:200]}")
    return text.splitlines()[-1].strip()


def config_path(container: Any) -> str:
    """REGISTRY_CONFIG_PATH when it exists in the container, else the 2.x default path."""
    wanted = settings.REGISTRY_CONFIG_PATH
    for path in dict.fromkeys((wanted, LEGACY_CONFIG_PATH)):
        if exec_stream(container, ["test", "-f", path]).exit_code == 0:
            return path
    raise EngineError(
        f"No registry configuration at {wanted} (nor {LEGACY_CONFIG_PATH}) in '{container.name}': "
        "set REGISTRY_CONFIG_PATH to the path the registry was started with."
    )


def data_root(container: Any, config: str) -> str:
    """The filesystem storage root the registry uses: its config file with REGISTRY_* applied."""
    settings_in_file = read_registry_config(container, config) or {}
    return config_data_root(effective_config(settings_in_file, container_env(container.attrs)))


def storage_bytes(container: Any, root: str) -> int | None:
    """Bytes under the data root measured in the container (``du -sb``, else ``du -sk`` x 1024)."""
    for flags, factor in (("-sb", 1), ("-sk", 1024)):
        result = exec_stream(container, ["du", flags, root])
        match = re.match(r"\s*(\d+)", result.stdout)
        if result.exit_code == 0 and match:
            return int(match.group(1)) * factor
    return None


def measure_storage(client: DockerClient, data_root: str, known: tuple[int, int] | None = None) -> StorageUsage:
    """``du -sk`` of the data root, the number of blob ``data`` files and the volume's size and use
    (``df -Pk``), with busybox in the container. ``known`` (bytes, blobs) from an earlier walk
    that nothing has changed since: only ``df`` runs (the walk stats every file, 18-90 s at
    10,000 repositories)."""
    container = engine.get_registry_container(client)
    blobs = f"{data_root.rstrip('/')}/{BLOBS_UNDER_DATA_ROOT}"
    walk = 'du -sk "$1" | cut -f1; if [ -d "$2" ]; then find "$2" -type f -name data | wc -l; else echo 0; fi; '
    script = ("" if known else walk) + 'df -Pk "$1" 2>/dev/null | tail -n 1'
    output = exec_output(container, ["sh", "-c", script, "measure", data_root, blobs])
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if known:
        lines = [str(known[0] // 1024), str(known[1]), *lines]
    try:
        kib, count = int(lines[0]), int(lines[1])
    except (IndexError, ValueError):
        raise EngineError(f"Unexpected answer measuring {data_root} in '{container.name}': {output[:200]!r}") from None
    # Filesystem 1024-blocks Used Available Capacity Mounted-on
    df = lines[2].split() if len(lines) > 2 else []
    if len(df) >= 4 and df[1].isdigit() and df[2].isdigit():
        return StorageUsage(kib * 1024, count, int(df[1]) * 1024, int(df[2]) * 1024)
    return StorageUsage(bytes=kib * 1024, blob_count=count)


# --- The container's configuration: save, recreate, compare (garbage collection) -----


def container_env(attrs: dict[str, Any]) -> dict[str, str]:
    return env_of((attrs.get("Config") or {}).get("Env") or [])


def _mount_binds(attrs: dict[str, Any]) -> list[str]:
    """Binds for named and anonymous volumes that HostConfig does not already name.

    An anonymous volume (the image's ``VOLUME /var/lib/registry`` without ``-v``) is in
    Mounts but not in HostConfig.Binds: recreating without it would give the registry a new,
    empty volume. Naming it keeps the registry's data.
    """
    host = attrs.get("HostConfig", {})
    named = {b.split(":")[1] for b in host.get("Binds") or [] if ":" in b}
    named |= {m.get("Target") for m in host.get("Mounts") or []}
    extra = []
    for mount in attrs.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Destination") not in named:
            mode = "rw" if mount.get("RW", True) else "ro"
            extra.append(f"{mount['Name']}:{mount['Destination']}:{mode}")
    return extra


def create_config(attrs: dict[str, Any], *, extra_env: list[str] | None = None) -> dict[str, Any]:
    """The /containers/create body that gives back the container ``attrs`` describe.

    Built from the inspected Config and HostConfig themselves rather than re-derived
    options, so every setting (limits, log config, restart policy, links, ...) comes back.
    """
    config: dict[str, Any] = copy.deepcopy(attrs["Config"])
    host_config = copy.deepcopy(attrs["HostConfig"])
    if extra_env:
        keys = {e.partition("=")[0] for e in extra_env}
        config["Env"] = [e for e in config.get("Env") or [] if e.partition("=")[0] not in keys] + extra_env
    extra_binds = _mount_binds(attrs)
    if extra_binds:
        host_config["Binds"] = (host_config.get("Binds") or []) + extra_binds
    config["HostConfig"] = host_config
    networks = attrs.get("NetworkSettings", {}).get("Networks") or {}
    mode = host_config.get("NetworkMode") or "default"
    if mode in networks and mode not in ("host", "none", "bridge", "default") and not mode.startswith("container:"):
        endpoint = networks[mode]
        config["NetworkingConfig"] = {
            "EndpointsConfig": {
                mode: {k: endpoint.get(k) for k in ("IPAMConfig", "Links", "Aliases") if endpoint.get(k)}
            }
        }
    return config


def normalized(attrs: dict[str, Any]) -> dict[str, Any]:
    """What must stay identical across a recreate: configuration, not identity or state."""
    config = attrs.get("Config", {})
    host = dict(attrs.get("HostConfig", {}))
    host.pop("Binds", None)  # compared through Mounts (anonymous volumes become named binds)
    links = sorted(_normalize_link(link) for link in host.pop("Links", None) or [])
    mounts = sorted(
        (m.get("Type"), m.get("Name") or m.get("Source"), m.get("Destination"), bool(m.get("RW")))
        for m in attrs.get("Mounts") or []
    )
    return {
        "Name": attrs.get("Name", "").lstrip("/"),
        "Image": config.get("Image"),
        "Entrypoint": config.get("Entrypoint"),
        "Cmd": config.get("Cmd"),
        "Env": sorted(config.get("Env") or []),
        "Labels": config.get("Labels") or {},
        "User": config.get("User"),
        "WorkingDir": config.get("WorkingDir"),
        "ExposedPorts": sorted(config.get("ExposedPorts") or {}),
        "Healthcheck": config.get("Healthcheck"),
        "Mounts": mounts,
        "Links": links,
        "Networks": sorted(attrs.get("NetworkSettings", {}).get("Networks") or {}),
        "HostConfig": host,
    }


def _normalize_link(link: str) -> str:
    """``/registry-redis:/registry/redis`` (inspect) and ``registry-redis:redis`` (create) alike."""
    source, _, alias = link.partition(":")
    return f"{source.lstrip('/')}:{alias.rsplit('/', 1)[-1] or source.lstrip('/')}"


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Readable differences between two ``normalized`` views (empty when identical)."""
    found = []
    for key in sorted(set(expected) | set(actual)):
        if key == "HostConfig":
            a, b = expected.get(key) or {}, actual.get(key) or {}
            found += [
                f"HostConfig.{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
            ]
        elif key == "Env" and expected.get(key) != actual.get(key):
            # Names only: values hold secrets (REGISTRY_HTTP_SECRET, passwords) and this goes on pages.
            a, b = set(expected.get(key) or []), set(actual.get(key) or [])
            names = sorted({e.partition("=")[0] for e in a ^ b})
            found.append(f"Env: {', '.join(names)} differ")
        elif expected.get(key) != actual.get(key):
            found.append(f"{key}: {expected.get(key)!r} -> {actual.get(key)!r}")
    return found


def recreate(client: DockerClient, attrs: dict[str, Any], *, extra_env: list[str] | None = None) -> Any:
    """Replace the container named in ``attrs`` by one built from ``attrs`` (plus ``extra_env``) and start it.

    The old container is removed without its volumes. Returns the new, started container.
    """
    name = attrs["Name"].lstrip("/")
    engine.remove_container(client, name)
    networks = attrs.get("NetworkSettings", {}).get("Networks") or {}
    config = create_config(attrs, extra_env=extra_env)
    return engine.create_container(client, config, name, networks, doing=f"Recreating the container '{name}'")


def without_image_defaults(attrs: dict[str, Any], image_config: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` minus what its container inherited from its image (``image_config``).

    docker inspect shows a container's configuration merged with its image's: the image's
    Env, Labels, Cmd, Entrypoint, ports and volumes. Recreating from it with a newer image
    would keep the old image's defaults over the new one's; without them, the new image's
    own defaults apply and only what the operator set (docker run -e, -l, a command) is kept.
    """
    result = copy.deepcopy(attrs)
    config = result.setdefault("Config", {})
    image_env = set(image_config.get("Env") or [])
    config["Env"] = [e for e in config.get("Env") or [] if e not in image_env]
    image_labels = image_config.get("Labels") or {}
    config["Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if image_labels.get(k) != v}
    for key in ("Cmd", "Entrypoint", "WorkingDir", "User", "Healthcheck", "StopSignal"):
        if key in config and config.get(key) == image_config.get(key):
            config[key] = None
    for key in ("ExposedPorts", "Volumes"):
        inherited = image_config.get(key) or {}
        config[key] = {k: v for k, v in (config.get(key) or {}).items() if k not in inherited} or None
    return result


def start_helper(client: DockerClient, attrs: dict[str, Any], name: str) -> Any:
    """A one-off container from the registry's image, with its mounts and environment, that idles.

    The GC then runs in it through exec, like in the registry itself. It gets no ports, no
    network and no restart policy: the registry is stopped, and the helper must not serve.
    """
    engine.remove_container(client, name)
    config = create_config(attrs)
    config.pop("NetworkingConfig", None)
    config["Entrypoint"] = ["/bin/sh", "-c"]
    config["Cmd"] = ["trap 'exit 0' TERM; while :; do sleep 1; done"]
    config["Healthcheck"] = {"Test": ["NONE"]}
    config["Labels"] = {**(config.get("Labels") or {}), GC_HELPER_LABEL: attrs["Name"].lstrip("/")}
    config.pop("Hostname", None)
    config["ExposedPorts"] = {}
    host = config["HostConfig"]
    host.update(
        {"NetworkMode": "none", "PortBindings": {}, "Links": None, "RestartPolicy": {"Name": "no"}, "AutoRemove": False}
    )
    return engine.create_container(client, config, name, doing=f"Starting the one-off GC container '{name}'")


def remove_helpers(client: DockerClient, registry_name: str) -> None:
    engine.remove_labelled(client, f"{GC_HELPER_LABEL}={registry_name}")


def linked_address(client: DockerClient, attrs: dict[str, Any], alias: str) -> str | None:
    """The IP of the container ``alias`` names for the registry (a --link alias or a container
    name on a shared network): the worker cannot resolve names only the registry's network knows."""
    target = alias
    for link in attrs.get("HostConfig", {}).get("Links") or []:
        source, _, link_alias = _normalize_link(link).partition(":")
        if link_alias == alias:
            target = source
    other = engine.get_container(client, target)
    if other is None:
        return None
    networks = other.attrs.get("NetworkSettings", {}).get("Networks") or {}
    for network in networks.values():
        if network.get("IPAddress"):
            return str(network["IPAddress"])
    return None


# --- Inspection: the container panel's facts ---------------------------------------


def inspect_registry(client: DockerClient, log_lines: int) -> dict[str, Any]:
    """Everything the container panel and the diagnostics show, secrets masked.

    Runs ``registry --version`` and reads the config file only while the container runs and
    is not paused (exec is impossible otherwise); those fields are then None.
    """
    container = engine.get_registry_container(client)
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
            with contextlib.suppress(EngineError):  # no config file found: judged from the environment
                registry_config = read_registry_config(container, config_path(container))
        except EngineError as e:
            exec_error = e.message
    effective = effective_config(registry_config or {}, env)
    started_at = state.get("StartedAt") or ""
    engine_info = engine.engine_info(client)
    running_image = engine.image_facts(client, attrs.get("Image", ""))
    tagged = engine.image_facts(client, config.get("Image", "")) if config.get("Image") else None
    return {
        "name": container.name,
        "id": container.id,
        "status": "paused" if state.get("Paused") else state.get("Status", container.status),
        "running": bool(state.get("Running")),
        "paused": bool(state.get("Paused")),
        "image": config.get("Image", ""),
        "image_id": attrs.get("Image", ""),
        "image_created": running_image.created if running_image else "",
        "image_version_label": running_image.labels.get(VERSION_LABEL, "") if running_image else "",
        # What the container's tag points to on the engine now (a newer pull moves it).
        "tag_image": (
            {"id": tagged.id, "created": tagged.created, "version_label": tagged.labels.get(VERSION_LABEL, "")}
            if tagged
            else None
        ),
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


def read_registry_config(container: DockerContainer, path: str) -> dict[str, Any] | None:
    """The registry's config file at ``path`` (``config_path``) parsed, or None if it cannot be read."""
    try:
        text = exec_output(container, ["cat", path])
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
    """A YAML value (true, "true", 1, "yes") or an environment word, as the registry reads it."""
    return parse_bool(str(value)) is True


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
        "data_root": config_data_root(config),
        "storage_driver": storage_driver(config),
        "upload_purging": upload_purging(config),
        "log_level": str(_dig(config, "log", "level") or "info"),
    }


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNIT_HOURS = {
    "ns": 1e-9 / 3600,
    "us": 1e-6 / 3600,
    "µs": 1e-6 / 3600,
    "ms": 1e-3 / 3600,
    "s": 1 / 3600,
    "m": 1 / 60,
    "h": 1.0,
}


def go_duration_hours(raw: Any) -> float | None:
    """A Go duration (``168h``, ``1h30m``, ``90m``) in hours; None when it is not one."""
    text = str(raw).strip()
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _GO_UNIT_HOURS[unit] for number, unit in parts)


def upload_purging(config: dict[str, Any]) -> dict[str, Any]:
    """``storage.maintenance.uploadpurging`` as the registry applies it: on unless ``enabled: false``,
    uploads older than ``age`` (default 168h) removed; read-only mode stops it (the registry's
    ``storage.maintenance`` defaults)."""
    purging = _dig(config, "storage", "maintenance", "uploadpurging")
    purging = purging if isinstance(purging, dict) else {}
    readonly = _dig(config, "storage", "maintenance", "readonly")
    read_only = _truthy(readonly.get("enabled")) if isinstance(readonly, dict) else _truthy(readonly)
    enabled = (purging.get("enabled") is None or _truthy(purging.get("enabled"))) and not read_only
    age = go_duration_hours(purging.get("age")) if purging.get("age") not in (None, "") else None
    return {"enabled": enabled, "age_hours": age if age is not None else 168.0}


#: Keys under ``storage`` that configure the registry, not name its driver.
_STORAGE_OPTIONS = {"delete", "cache", "maintenance", "redirect", "tag"}


def storage_driver(config: dict[str, Any]) -> str:
    """The storage driver the configuration names (``filesystem``, ``s3``, ``inmemory``...); "" when none.

    ``storage: s3`` (a string, as ``REGISTRY_STORAGE=s3`` sets it) or a ``storage.<driver>`` map.
    """
    storage = _dig(config, "storage")
    if isinstance(storage, str):
        return storage
    if not isinstance(storage, dict):
        return ""
    drivers = [str(key) for key in storage if str(key) not in _STORAGE_OPTIONS]
    return drivers[0] if len(drivers) == 1 else ""


def config_data_root(config: dict[str, Any]) -> str:
    return str(_dig(config, "storage", "filesystem", "rootdirectory") or DEFAULT_DATA_ROOT)


def listen_port(config: dict[str, Any]) -> int:
    """The port of ``http.addr`` (``:5000``, ``0.0.0.0:5000``); 5000 when unset."""
    addr = str(_dig(config, "http", "addr") or "")
    port = addr.rsplit(":", 1)[-1] if ":" in addr else ""
    return int(port) if port.isascii() and port.isdigit() else DEFAULT_REGISTRY_PORT


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


# --- Logs ---------------------------------------------------------------------------


def is_noise(line: str) -> bool:
    return any(marker in line for marker in OTEL_NOISE_MARKERS)


def registry_logs(container: DockerContainer, tail: int) -> list[str]:
    """The last ``tail`` lines of ``docker logs`` without the OpenTelemetry exporter noise (distribution#4270)."""
    return [mask_log_line(line) for line in engine.container_logs(container, tail) if not is_noise(line)]


def startup_log(container: DockerContainer, started_at: str, seconds: int = 120) -> list[str]:
    """The lines logged in the first minutes after the last start, where ``listening on`` appears."""
    start = parse_docker_time(started_at)
    if start is None:
        return []
    lines = engine.logs_between(container, start, start + timedelta(seconds=seconds))[:200]
    return [mask_log_line(line) for line in lines if line and not is_noise(line)]


# --------------------------------------------------------------------------- save and restore


def save_configuration(
    job: Job, container_name: str, mode: str, attrs: dict[str, Any], log: Callable[[str], None]
) -> RegistryMaintenance:
    """Save the container's full ``docker inspect`` before a GC, an update or a login switch
    changes it: ``restore`` (the job's ``finally``, or the GC watchdog after a dead worker) puts
    it back from this record."""
    record = RegistryMaintenance.objects.create(job=job, container_name=container_name, mode=mode, attrs=attrs)
    log(f"Saved the container's configuration (maintenance record {record.pk}).")
    return record


def close_maintenance(record: RegistryMaintenance, by: str) -> None:
    """The container is back (``by``: the job, the watchdog): the record is no longer open."""
    record.ended_at = timezone.now()
    record.restored_by = by
    record.save(update_fields=["ended_at", "restored_by"])


def restore(
    client: engine.DockerClient,
    saved: dict[str, Any],
    log: Callable[[str], None] | None = None,
    *,
    pin_image: bool = False,
) -> Any:
    """Bring the container back running with exactly ``saved``'s configuration; EngineError if not.

    Idempotent: a container already identical is only started when stopped; one that differs
    (read-only switch) or is missing is recreated; leftover one-off GC containers are removed.
    With ``pin_image`` (an update's way back) the image must be the saved one too: its tag
    (``registry:3``) is pointed at the saved image id again before the container is rebuilt.
    """
    name = saved["Name"].lstrip("/")
    remove_helpers(client, name)
    if pin_image:
        reference = saved["Config"]["Image"]
        tagged = engine.image_facts(client, reference)
        if tagged is None or tagged.id != saved["Image"]:
            if log:
                log(f"Pointing '{reference}' at the saved image {saved['Image']} again.")
            engine.tag_image(client, saved["Image"], reference)
    current = engine.get_container(client, name)
    same_image = current is not None and (not pin_image or current.attrs.get("Image") == saved["Image"])
    if current is not None and same_image and not differences(normalized(saved), normalized(current.attrs)):
        if not current.attrs.get("State", {}).get("Running"):
            if log:
                log(f"Starting '{name}'.")
            engine.start_container(current)
    else:
        if log:
            log(f"Recreating '{name}' with its saved configuration.")
        current = recreate(client, saved)
    engine.wait_running(current)
    diffs = differences(normalized(saved), normalized(current.attrs))
    if pin_image and current.attrs.get("Image") != saved["Image"]:
        diffs.append(f"Image: {saved['Image']} -> {current.attrs.get('Image')}")
    if not wait_answering() and log:
        log(f"Warning: {settings.REGISTRY_URL}/v2/ does not answer yet; check the registry's logs.")
    if diffs:
        raise engine.EngineError(
            f"The container '{name}' came back with a different configuration: {'; '.join(diffs)}. "
            "Compare it with the saved configuration (Admin > Registry maintenances) and fix it by hand."
        )
    return current


def wait_answering(timeout: float = 30.0) -> bool:
    """Wait until the registry answers its API again (it listens a moment after it starts)."""
    client = registry.get_client()
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return True
        except registry.RegistryError as e:
            if e.registry_status in (401, 403):  # behind auth: it answers, that is enough here
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)

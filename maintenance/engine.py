"""The Docker engine on the NAS: the only module that talks to it.

Only Celery workers import and use this (on the NAS the engine's socket is root); the web
process never opens it. The connection comes from DOCKER_HOST, DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH, read by ``docker.from_env`` as the docker CLI reads them.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from django.conf import settings

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

#: The only form of the read-only switch that works as an environment variable; the
#: ``..._READONLY_ENABLED=true`` form panics or is silently ignored (REGISTRY-FACTS.md).
READONLY_ENV = 'REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled":true}'
LEGACY_CONFIG_PATH = "/etc/docker/registry/config.yml"
DEFAULT_DATA_ROOT = "/var/lib/registry"
#: Labels our one-off GC containers, so a watchdog can find and remove leftovers.
GC_HELPER_LABEL = "registry-admin.gc-helper"
STOP_TIMEOUT = 10


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def get_container(client: docker.DockerClient, name: str) -> Any:
    """The container called ``name`` (a docker-py Container), or None when it does not exist."""
    try:
        return client.containers.get(name)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as e:
        raise EngineError(f"The Docker engine failed to look up '{name}': {e.explanation or e}") from e


def require_running(container: Any) -> None:
    """Refuse to work on a registry that is paused or not running, saying what to do."""
    container.reload()
    state = container.attrs.get("State", {})
    if state.get("Paused"):
        raise EngineError(
            f"The registry container '{container.name}' is paused: unpause it on the Maintenance page "
            "(or docker unpause) before running a garbage collection."
        )
    if not state.get("Running"):
        raise EngineError(
            f"The registry container '{container.name}' is {state.get('Status', 'not running')}: "
            "start it (docker start) before running a garbage collection."
        )


def exec_stream(
    client: docker.DockerClient,
    container: Any,
    cmd: list[str],
    on_line: Callable[[str, str], None] | None = None,
) -> ExecResult:
    """Run ``cmd`` in the container, calling ``on_line(stream, line)`` as lines arrive.

    ``exec_run(stream=True)`` gives no exit code, hence exec_create/exec_start/exec_inspect.
    """
    api = client.api
    try:
        exec_id = api.exec_create(container.id, cmd, stdout=True, stderr=True)["Id"]
        chunks = api.exec_start(exec_id, stream=True, demux=True)
        buffers = {"stdout": "", "stderr": ""}
        collected: dict[str, list[str]] = {"stdout": [], "stderr": []}
        for out, err in chunks:
            for stream, data in (("stdout", out), ("stderr", err)):
                if not data:
                    continue
                buffers[stream] += data.decode(errors="replace")
                *lines, buffers[stream] = buffers[stream].split("\n")
                for line in lines:
                    collected[stream].append(line)
                    if on_line:
                        on_line(stream, line)
        for stream, rest in buffers.items():
            if rest:
                collected[stream].append(rest)
                if on_line:
                    on_line(stream, rest)
        exit_code = api.exec_inspect(exec_id)["ExitCode"]
    except docker.errors.APIError as e:
        if e.status_code == 409:
            raise EngineError(
                f"The container '{container.name}' refused the command ({e.explanation or e}): is it paused or stopped?"
            ) from e
        raise EngineError(f"Running {' '.join(cmd)} in '{container.name}' failed: {e.explanation or e}") from e
    return ExecResult(int(exit_code or 0), "\n".join(collected["stdout"]), "\n".join(collected["stderr"]))


def registry_version(client: docker.DockerClient, container: Any) -> str:
    """``registry --version`` in the container, e.g. ``github.com/docker/distribution 2.8.2+ds1``."""
    result = exec_stream(client, container, ["registry", "--version"])
    text = (result.stdout or result.stderr).strip()
    if result.exit_code != 0 or not text:
        raise EngineError(f"'registry --version' failed in '{container.name}' (exit {result.exit_code}): {text[:200]}")
    return text.splitlines()[-1].strip()


def is_v2(version: str) -> bool:
    """True for Distribution 2.x (``github.com/docker/distribution 2.8.2``), False for v3."""
    return "/v3" not in version and not re.search(r"\bv?3\.\d", version)


def config_path(client: docker.DockerClient, container: Any) -> str:
    """REGISTRY_CONFIG_PATH when it exists in the container, else the 2.x default path."""
    wanted = settings.REGISTRY_CONFIG_PATH
    for path in dict.fromkeys((wanted, LEGACY_CONFIG_PATH)):
        if exec_stream(client, container, ["test", "-f", path]).exit_code == 0:
            return path
    raise EngineError(
        f"No registry configuration at {wanted} (nor {LEGACY_CONFIG_PATH}) in '{container.name}': "
        "set REGISTRY_CONFIG_PATH to the path the registry was started with."
    )


def data_root(client: docker.DockerClient, container: Any, config: str) -> str:
    """The filesystem storage root: the env override, the config file's value, or the default."""
    for item in container.attrs.get("Config", {}).get("Env") or []:
        key, _, value = item.partition("=")
        if key == "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY" and value:
            return value
    text = exec_stream(client, container, ["cat", config]).stdout
    match = re.search(r"^\s*rootdirectory:\s*['\"]?([^'\"\s#]+)", text, re.MULTILINE)
    return match.group(1) if match else DEFAULT_DATA_ROOT


def storage_bytes(client: docker.DockerClient, container: Any, root: str) -> int | None:
    """Bytes under the data root measured in the container (``du -sb``, else ``du -sk`` x 1024)."""
    for flags, factor in (("-sb", 1), ("-sk", 1024)):
        result = exec_stream(client, container, ["du", flags, root])
        match = re.match(r"\s*(\d+)", result.stdout)
        if result.exit_code == 0 and match:
            return int(match.group(1)) * factor
    return None


def container_env(attrs: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in attrs.get("Config", {}).get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    return env


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
    config = copy.deepcopy(attrs["Config"])
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


def recreate(client: docker.DockerClient, attrs: dict[str, Any], *, extra_env: list[str] | None = None) -> Any:
    """Replace the container named in ``attrs`` by one built from ``attrs`` (plus ``extra_env``) and start it.

    The old container is removed without its volumes. Returns the new, started container.
    """
    name = attrs["Name"].lstrip("/")
    remove_container(client, name)
    try:
        created = client.api.create_container_from_config(create_config(attrs, extra_env=extra_env), name=name)
        container = client.containers.get(created["Id"])
        for network, endpoint in (attrs.get("NetworkSettings", {}).get("Networks") or {}).items():
            if network not in container.attrs.get("NetworkSettings", {}).get("Networks", {}):
                client.api.connect_container_to_network(
                    container.id, network, aliases=endpoint.get("Aliases"), links=endpoint.get("Links")
                )
        container.start()
        container.reload()
    except docker.errors.APIError as e:
        raise EngineError(f"Recreating the container '{name}' failed: {e.explanation or e}") from e
    return container


def remove_container(client: docker.DockerClient, name: str) -> None:
    container = get_container(client, name)
    if container is None:
        return
    try:
        container.remove(force=True, v=False)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        raise EngineError(f"Removing the container '{name}' failed: {e.explanation or e}") from e


def stop_container(container: Any) -> None:
    try:
        container.stop(timeout=STOP_TIMEOUT)
    except docker.errors.APIError as e:
        raise EngineError(f"Stopping the container '{container.name}' failed: {e.explanation or e}") from e


def start_container(container: Any) -> None:
    try:
        container.start()
        container.reload()
    except docker.errors.APIError as e:
        raise EngineError(f"Starting the container '{container.name}' failed: {e.explanation or e}") from e


def restart_container(container: Any) -> None:
    try:
        container.restart(timeout=STOP_TIMEOUT)
        container.reload()
    except docker.errors.APIError as e:
        raise EngineError(f"Restarting the container '{container.name}' failed: {e.explanation or e}") from e


def start_helper(client: docker.DockerClient, attrs: dict[str, Any], name: str) -> Any:
    """A one-off container from the registry's image, with its mounts and environment, that idles.

    The GC then runs in it through exec, like in the registry itself. It gets no ports, no
    network and no restart policy: the registry is stopped, and the helper must not serve.
    """
    remove_container(client, name)
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
    try:
        created = client.api.create_container_from_config(config, name=name)
        helper = client.containers.get(created["Id"])
        helper.start()
        helper.reload()
    except docker.errors.APIError as e:
        raise EngineError(f"Starting the one-off GC container '{name}' failed: {e.explanation or e}") from e
    return helper


def remove_helpers(client: docker.DockerClient, registry_name: str) -> None:
    for helper in client.containers.list(all=True, filters={"label": f"{GC_HELPER_LABEL}={registry_name}"}):
        with contextlib.suppress(docker.errors.NotFound):
            helper.remove(force=True)


def wait_running(container: Any, timeout: float = 30.0) -> None:
    """Wait until the container runs and has not restarted; EngineError with its logs otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs.get("State", {})
        if state.get("Running") and not state.get("Restarting") and container.attrs.get("RestartCount", 0) == 0:
            return
        if state.get("Status") in ("exited", "dead"):
            break
        time.sleep(0.2)
    logs = container.logs(tail=20).decode(errors="replace")
    raise EngineError(f"The container '{container.name}' is not running after {timeout:.0f}s; last logs:\n{logs}")


def linked_address(client: docker.DockerClient, attrs: dict[str, Any], alias: str) -> str | None:
    """The IP of the container ``alias`` names for the registry (a --link alias or a container
    name on a shared network): the worker cannot resolve names only the registry's network knows."""
    target = alias
    for link in attrs.get("HostConfig", {}).get("Links") or []:
        source, _, link_alias = _normalize_link(link).partition(":")
        if link_alias == alias:
            target = source
    other = get_container(client, target)
    if other is None:
        return None
    networks = other.attrs.get("NetworkSettings", {}).get("Networks") or {}
    for network in networks.values():
        if network.get("IPAddress"):
            return str(network["IPAddress"])
    return None


# === Statistics, logs, pause/unpause/restart (issue 6) =================================

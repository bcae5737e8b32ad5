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
from datetime import timedelta
from typing import Any

import docker
import docker.errors
import yaml
from django.conf import settings
from docker.models.containers import Container

from core.errors import ActionableError
from core.timestamps import parse_docker_time
from registry_admin.env import parse_bool

#: The engine's client type, for the run side's signatures (only this module imports docker).
DockerClient = docker.DockerClient

ENGINE_TIMEOUT = 30
#: The only form of the read-only switch that works as an environment variable; the
#: ``..._READONLY_ENABLED=true`` form panics or is silently ignored (REGISTRY-FACTS.md).
READONLY_ENV = 'REGISTRY_STORAGE_MAINTENANCE_READONLY={"enabled":true}'
LEGACY_CONFIG_PATH = "/etc/docker/registry/config.yml"
DEFAULT_DATA_ROOT = "/var/lib/registry"
BLOBS_UNDER_DATA_ROOT = "docker/registry/v2/blobs"
DEFAULT_REGISTRY_PORT = 5000
#: Labels our one-off GC containers, so a watchdog can find and remove leftovers.
GC_HELPER_LABEL = "registry-admin.gc-helper"
STOP_TIMEOUT = 10

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


class EngineError(ActionableError):
    """The engine or the registry container cannot do what was asked; the message says why."""


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
        return (
            f"The worker may not open the Docker engine socket at {host} (permission denied): run the worker "
            "in the socket's group (with docker compose: DOCKER_GID in .env), or set DOCKER_HOST to an engine "
            "it may use."
        )
    if "Connection refused" in text:
        return f"The Docker engine at {host} refused the connection: is dockerd running? Check DOCKER_HOST."
    return f"Cannot reach the Docker engine at {host}: {text[:200]}. Check DOCKER_HOST."


def get_registry_container(client: docker.DockerClient) -> Container:
    """The registry's docker-py container (REGISTRY_CONTAINER), or EngineError naming the setting."""
    name = settings.REGISTRY_CONTAINER
    container = get_container(client, name)
    if container is None:
        raise EngineError(
            f"No container named '{name}' on the Docker engine at {describe_host()}: "
            "set REGISTRY_CONTAINER to the registry container's name (docker ps shows it)."
        )
    return container


def registry_container(client: docker.DockerClient) -> ContainerSummary:
    """A summary of the registry's container, or EngineError when it is not there."""
    container = get_registry_container(client)
    image = container.attrs.get("Config", {}).get("Image", "")
    return ContainerSummary(name=container.name, id=container.id or "", status=container.status, image=image)


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
    # The volume holding the data root (``df -Pk``): None when df could not say.
    volume_total_bytes: int | None = None
    volume_used_bytes: int | None = None

    @property
    def volume_percent(self) -> int | None:
        """How full the volume is, in whole percent, as df rounds it (up)."""
        if not self.volume_total_bytes or self.volume_used_bytes is None:
            return None
        return -(-self.volume_used_bytes * 100 // self.volume_total_bytes)


def is_paused(client: docker.DockerClient) -> bool:
    """Whether the registry container is paused (``docker pause``)."""
    container = get_registry_container(client)
    return bool(container.attrs.get("State", {}).get("Paused"))


# --- Running commands in the container -----------------------------------------------


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
        raise EngineError(PAUSED_MESSAGE.format(name=container.name))
    if not state.get("Running"):
        raise EngineError(
            f"The registry container '{container.name}' is {state.get('Status', 'not running')}: "
            "start it (docker start) before running a garbage collection."
        )


def exec_stream(container: Any, cmd: list[str], on_line: Callable[[str, str], None] | None = None) -> ExecResult:
    """Run ``cmd`` in the container, calling ``on_line(stream, line)`` as lines arrive: the one
    way this project runs a command in a container (a paused one is refused with PAUSED_MESSAGE).

    ``exec_run(stream=True)`` gives no exit code, hence exec_create/exec_start/exec_inspect.
    """
    api = container.client.api
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
        if e.status_code == 409 and "paused" in str(e.explanation or e):
            raise EngineError(PAUSED_MESSAGE.format(name=container.name)) from e
        if e.status_code == 409:
            raise EngineError(
                f"The container '{container.name}' refused the command ({e.explanation or e}): is it paused or stopped?"
            ) from e
        raise EngineError(f"Running {' '.join(cmd)} in '{container.name}' failed: {e.explanation or e}") from e
    return ExecResult(int(exit_code or 0), "\n".join(collected["stdout"]), "\n".join(collected["stderr"]))


def exec_output(container: Any, command: list[str]) -> str:
    """Run a short command in the container; its stdout, or EngineError when it exits non-zero."""
    result = exec_stream(container, command)
    if result.exit_code != 0:
        detail = (result.stderr or result.stdout).strip()[:300]
        raise EngineError(f"'{' '.join(command)}' in '{container.name}' exited with {result.exit_code}: {detail}")
    return result.stdout


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


# --- Images: pull, look up, tag (updating the registry) ---------------------------------

#: The label an image may carry with its release; OCI's standard key.
VERSION_LABEL = "org.opencontainers.image.version"


@dataclass(frozen=True)
class ImageFacts:
    """An image on the engine: its id (the config's digest), the registry digests, its config."""

    id: str
    repo_digests: tuple[str, ...]
    created: str
    labels: dict[str, str]
    config: dict[str, Any]

    @property
    def repo_digest(self) -> str:
        """``registry@sha256:...`` when the image came from a registry, else ''."""
        return self.repo_digests[0] if self.repo_digests else ""


def image_facts(client: docker.DockerClient, reference: str) -> ImageFacts | None:
    """What ``reference`` (a tag or an image id) is on the engine, or None when it is not there."""
    try:
        image = client.images.get(reference)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as e:
        raise EngineError(f"The Docker engine failed to look up the image '{reference}': {e.explanation or e}") from e
    attrs = image.attrs
    config = attrs.get("Config") or {}
    return ImageFacts(
        id=str(attrs.get("Id", "")),
        repo_digests=tuple(attrs.get("RepoDigests") or ()),
        created=str(attrs.get("Created", "")),
        labels=dict(config.get("Labels") or {}),
        config=config,
    )


def pull_image(client: docker.DockerClient, reference: str) -> ImageFacts:
    """``docker pull reference`` through the engine; EngineError saying why it failed (offline...)."""
    repository, tag = split_reference(reference)
    try:
        # Streamed: progress lines keep arriving within the client's read timeout on a long pull.
        for message in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if isinstance(message, dict) and message.get("error"):
                raise EngineError(f"Pulling '{reference}' failed: {str(message['error'])[:300]}")
    except EngineError:
        raise
    except docker.errors.APIError as e:
        raise EngineError(f"Pulling '{reference}' failed: {e.explanation or e}") from e
    except Exception as e:  # transport errors: a timeout, a reset connection
        raise EngineError(f"Pulling '{reference}' failed: {type(e).__name__}: {str(e)[:200]}") from e
    facts = image_facts(client, reference)
    if facts is None:
        raise EngineError(f"The engine pulled '{reference}' but does not list it.")
    return facts


def tag_image(client: docker.DockerClient, image_id: str, reference: str) -> None:
    """Point ``reference`` (``registry:3``) at ``image_id`` again, as ``docker tag`` does."""
    repository, tag = split_reference(reference)
    try:
        client.images.get(image_id).tag(repository, tag=tag)
    except docker.errors.APIError as e:
        raise EngineError(f"Tagging {image_id[:19]} as '{reference}' failed: {e.explanation or e}") from e


def split_reference(reference: str) -> tuple[str, str]:
    """``registry:3`` -> (``registry``, ``3``); ``host:5000/r`` -> (``host:5000/r``, ``latest``)."""
    if "@" in reference:
        repository, _, digest = reference.partition("@")
        return repository, digest
    head, sep, tag = reference.rpartition(":")
    if sep and "/" not in tag:
        return head, tag
    return reference, "latest"


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
    """``du -sk`` of the data root, the number of blob ``data`` files and the volume's size and use
    (``df -Pk``), with busybox in the container."""
    container = get_registry_container(client)
    blobs = f"{data_root.rstrip('/')}/{BLOBS_UNDER_DATA_ROOT}"
    script = (
        'du -sk "$1" | cut -f1; if [ -d "$2" ]; then find "$2" -type f -name data | wc -l; else echo 0; fi; '
        'df -Pk "$1" 2>/dev/null | tail -n 1'
    )
    output = exec_output(container, ["sh", "-c", script, "measure", data_root, blobs])
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    try:
        kib, count = int(lines[0]), int(lines[1])
    except (IndexError, ValueError):
        raise EngineError(f"Unexpected answer measuring {data_root} in '{container.name}': {output[:200]!r}") from None
    # Filesystem 1024-blocks Used Available Capacity Mounted-on
    df = lines[2].split() if len(lines) > 2 else []
    if len(df) >= 4 and df[1].isdigit() and df[2].isdigit():
        return StorageUsage(kib * 1024, count, int(df[1]) * 1024, int(df[2]) * 1024)
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
            with contextlib.suppress(EngineError):  # no config file found: judged from the environment
                registry_config = read_registry_config(container, config_path(container))
        except EngineError as e:
            exec_error = e.message
    effective = effective_config(registry_config or {}, env)
    started_at = state.get("StartedAt") or ""
    engine_info = _engine_info(client)
    running_image = image_facts(client, attrs.get("Image", ""))
    tagged = image_facts(client, config.get("Image", "")) if config.get("Image") else None
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


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in SECRET_NAME_PARTS)


_QUERY_SECRET = re.compile(
    r"(?i)([?&;][\w.-]*(?:password|passwd|secret|token|apikey|api[_-]key|access[_-]?key|credential|signature|sig|auth)[\w.-]*=)[^&#\s\"']+"
)


def mask_url(url: str) -> str:
    """``scheme://user:pass@host/?token=x`` -> ``scheme://••••••@host/?token=••••••``."""
    return _QUERY_SECRET.sub(rf"\1{MASK}", re.sub(r"(://)[^/@\s]+@", rf"\1{MASK}@", url))


# Credentials as the registry (Go, logrus) prints them in its log: notification endpoints'
# headers (``headers=map[Authorization:[Bearer <token>]]``), auth schemes, key=value pairs
# whose key names a secret, tokens in URL queries, and user:password@ in URLs.
_SECRET_WORDS = r"(?:password|passwd|secret|token|apikey|api[_-]key|access[_-]?key|credential|signature)"  # noqa: S105 - the words, not a value
_LOG_SECRETS = (
    # Go's map of header lists: Authorization:[...], Cookie:[...], X-Auth-Token:[...]
    re.compile(
        r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-[\w-]*(?:token|key|secret|auth)[\w-]*)(\s*[:=]\s*)\[[^\]]*\]"
    ),
    # A header printed as a plain value: Authorization: Bearer abc, "Authorization":"Basic abc"
    re.compile(r'(?i)\b((?:proxy-)?authorization"?\s*[:=]\s*"?)(?!\[)[^",\]\n]+'),
    re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{4,}"),
    # key=value, key: value, "key":"value" where the key names a secret (query strings included)
    re.compile(
        r"(?i)\b([\w.-]*" + _SECRET_WORDS + r'[\w.-]*"?)(\s*[=:]\s*"?)(?!' + re.escape(MASK) + r')[^\s"&,;\]}\[]+'
    ),
)


def mask_log_line(line: str) -> str:
    """A registry log line fit for a page: credentials and tokens replaced, as the env panel does."""
    first, plain, scheme, pairs = _LOG_SECRETS
    masked = first.sub(rf"\1\2[{MASK}]", mask_url(line))
    masked = plain.sub(rf"\1{MASK}", masked)
    masked = scheme.sub(rf"\1\2{MASK}", masked)
    return pairs.sub(rf"\1\2{MASK}", masked)


def masked_env(env: dict[str, str]) -> list[list[str]]:
    """The container's environment for display: secret values replaced, URLs without credentials."""
    return [[name, MASK if is_secret_name(name) and value else mask_url(value)] for name, value in sorted(env.items())]


def read_registry_config(container: Container, path: str) -> dict[str, Any] | None:
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
        "log_level": str(_dig(config, "log", "level") or "info"),
    }


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
    return [mask_log_line(line) for line in raw.decode(errors="replace").splitlines() if line and not is_noise(line)]


def startup_log(container: Container, started_at: str, seconds: int = 120) -> list[str]:
    """The lines logged in the first minutes after the last start, where ``listening on`` appears."""
    start = parse_docker_time(started_at)
    if start is None:
        return []
    try:
        raw = container.logs(since=start, until=start + timedelta(seconds=seconds), stdout=True, stderr=True)
    except docker.errors.APIError:
        return []
    lines = raw.decode(errors="replace").splitlines()[:200]
    return [mask_log_line(line) for line in lines if line and not is_noise(line)]


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


def restart_registry(client: docker.DockerClient) -> None:
    """``docker restart`` of the registry container (REGISTRY_CONTAINER)."""
    restart(get_registry_container(client))


def restart(container: Any) -> None:
    """``docker restart``: keeps the container's configuration; also resumes a paused one."""
    if (container.attrs.get("State") or {}).get("Paused"):
        _call(container, "unpause", container.unpause)
    _call(container, "restart", lambda: container.restart(timeout=STOP_TIMEOUT))
    container.reload()


def _call(container: Container, verb: str, action: Any) -> None:
    try:
        action()
    except docker.errors.APIError as e:
        raise EngineError(f"The engine refused to {verb} '{container.name}': {e.explanation or e}") from e

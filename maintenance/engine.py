"""The Docker engine on the NAS: the only module that talks to it, SDK calls only.

Only Celery workers import and use this (on the NAS the engine's socket is root); the web
process never opens it. The connection comes from DOCKER_HOST, DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH, read by ``docker.from_env`` as the docker CLI reads them. What the registry
container's configuration means (recreating it, its config file, its data root) is
``maintenance.container``'s, built on this.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docker
import docker.errors
from django.conf import settings
from docker.models.containers import Container

from core.errors import ActionableError

#: The engine's client and container types, for signatures elsewhere (only this module imports docker).
DockerClient = docker.DockerClient
DockerContainer = Container

ENGINE_TIMEOUT = 30

STOP_TIMEOUT = 10

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
    started_at: str = ""  # docker's State.StartedAt: a new one means the container restarted


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
    started = (container.attrs.get("State") or {}).get("StartedAt") or ""
    return ContainerSummary(
        name=container.name, id=container.id or "", status=container.status, image=image, started_at=started
    )


@dataclass(frozen=True)
class ResourceUsage:
    """One reading of ``docker stats``, computed the way the docker CLI computes it."""

    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int
    # None: docker reports no network counters (a container on the host's network, as the
    # installation guide's does not but many NAS setups do): not "0 bytes received".
    net_rx_bytes: int | None
    net_tx_bytes: int | None
    block_read_bytes: int
    block_write_bytes: int
    pids: int


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


def exec_stream(
    container: Any, cmd: list[str], on_line: Callable[[str, str], None] | None = None, *, keep_stdout: bool = True
) -> ExecResult:
    """Run ``cmd`` in the container, calling ``on_line(stream, line)`` as lines arrive: the one
    way this project runs a command in a container (a paused one is refused with PAUSED_MESSAGE).
    ``keep_stdout=False``: the result's stdout stays empty (``on_line`` saw every line), so a
    command printing megabytes (a GC's mark phase at 10,000 repositories) is not held in memory.

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
                    if keep_stdout or stream != "stdout":
                        collected[stream].append(line)
                    if on_line:
                        on_line(stream, line)
        for stream, rest in buffers.items():
            if rest:
                if keep_stdout or stream != "stdout":
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


# --- Containers: create, start, stop, remove --------------------------------------------


def create_container(
    client: docker.DockerClient,
    config: dict[str, Any],
    name: str,
    networks: dict[str, Any] | None = None,
    *,
    doing: str = "",
) -> Any:
    """Create ``name`` from a /containers/create body, join it to ``networks`` (name -> endpoint
    as inspect shows it) it is not on yet, and start it. Returns the started container.

    ``doing`` begins the error's message (``Recreating the container 'registry'``).
    """
    try:
        created = client.api.create_container_from_config(config, name=name)
        container = client.containers.get(created["Id"])
        for network, endpoint in (networks or {}).items():
            if network not in container.attrs.get("NetworkSettings", {}).get("Networks", {}):
                client.api.connect_container_to_network(
                    container.id, network, aliases=endpoint.get("Aliases"), links=endpoint.get("Links")
                )
        container.start()
        container.reload()
    except docker.errors.APIError as e:
        raise EngineError(f"{doing or f'Creating the container {name!r}'} failed: {e.explanation or e}") from e
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


def remove_labelled(client: docker.DockerClient, label: str) -> None:
    """Remove every container carrying ``label`` (``key=value``), running or not."""
    for found in client.containers.list(all=True, filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound):
            found.remove(force=True)


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


# --- Images: pull, look up, tag --------------------------------------------------------


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

    networks = list((stats.get("networks") or {}).values())
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
        net_rx_bytes=sum(int(n.get("rx_bytes") or 0) for n in networks) if networks else None,
        net_tx_bytes=sum(int(n.get("tx_bytes") or 0) for n in networks) if networks else None,
        block_read_bytes=block_read,
        block_write_bytes=block_write,
        pids=int((stats.get("pids_stats") or {}).get("current") or 0),
    )


def _nested_int(data: dict[str, Any], *keys: str) -> int:
    value: Any = data
    for key in keys:
        value = (value or {}).get(key)
    return int(value or 0)


# --- The engine, logs ------------------------------------------------------------------


def engine_info(client: docker.DockerClient) -> dict[str, Any]:
    """The engine's storage driver, version and cgroup version (``docker info``), or its error."""
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


def container_logs(container: Container, tail: int) -> list[str]:
    """The last ``tail`` lines of ``docker logs`` (stdout and stderr), empty lines left out."""
    try:
        raw = container.logs(tail=tail, stdout=True, stderr=True)
    except docker.errors.APIError as e:
        raise EngineError(f"The engine gave no logs for '{container.name}': {e.explanation or e}") from e
    return [line for line in raw.decode(errors="replace").splitlines() if line]


def logs_between(container: Container, since: datetime, until: datetime) -> list[str]:
    """What ``docker logs --since --until`` gives, empty when the engine gives nothing."""
    try:
        raw = container.logs(since=since, until=until, stdout=True, stderr=True)
    except docker.errors.APIError:
        return []
    return [str(line) for line in raw.decode(errors="replace").splitlines()]


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

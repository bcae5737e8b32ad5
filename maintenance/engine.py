"""The Docker engine on the NAS: the only module that talks to it.

Only Celery workers import and use this (on the NAS the engine's socket is root); the web
process never opens it. The connection comes from DOCKER_HOST, DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH, read by ``docker.from_env`` as the docker CLI reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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


# === Statistics, logs, pause/unpause/restart (issue 6) =================================

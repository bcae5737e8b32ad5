"""Read docker-compose.yml and start its services with docker-py, as compose would.

The boot test cannot use ``docker compose``: Container Station's Compose v2 is not packaged
for Debian, and Debian's docker-compose 1.29 would create a bridge network, which the test
engine (``dockerd --bridge=none``) cannot give the containers. So the test reads the same file
and turns each service into ``containers.run`` arguments, with the one documented change that
the containers share the host's network (``network_mode="host"``, no ``ports``), so the
addresses in the environment are overridden to point at 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from docker.types import LogConfig

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, and $$ for "$".
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|us|ns|h|m|s)")
_NANOSECONDS = {"h": 3600e9, "m": 60e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}


class ComposeError(Exception):
    """The compose file cannot be turned into containers; the message says why."""


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as data (YAML anchors and ``<<`` merges resolved, no interpolation yet)."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise ComposeError(f"{path}: no services")
    return data


def variables_used(path: Path = COMPOSE_FILE) -> set[str]:
    """Every ``${NAME...}`` the compose file interpolates."""
    return {m["name"] for m in _VARIABLE.finditer(path.read_text()) if m["name"]}


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """Substitute variables in every string of ``value``, the way compose reads ``.env``."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: _substitute(m, variables), value)
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    return value


def _substitute(match: re.Match[str], variables: Mapping[str, str]) -> str:
    if match[0] == "$$":
        return "$"
    name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
    value = variables.get(name)
    missing = value is None or (op.startswith(":") and value == "")
    if op.endswith("-") and missing:
        return arg
    if op.endswith("?") and missing:
        raise ComposeError(f"{name}: {arg}")
    return value or ""


def seconds_to_ns(duration: str) -> int:
    """Compose durations such as ``30s`` or ``1m30s`` in nanoseconds, as the engine takes them."""
    parts = list(_DURATION.finditer(duration))
    if not parts or "".join(p[0] for p in parts) != duration:
        raise ComposeError(f"not a duration: {duration!r}")
    return int(sum(float(p["value"]) * _NANOSECONDS[p["unit"]] for p in parts))


def service(name: str, variables: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """One service, interpolated."""
    services = load(path)["services"]
    if name not in services:
        raise ComposeError(f"{path}: no service {name!r}")
    return dict(interpolate(services[name], variables))


def run_arguments(
    svc: Mapping[str, Any], container_name: str, environment_overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``docker.containers.run`` keyword arguments for an interpolated service, on the host network."""
    environment = {key: "" if value is None else str(value) for key, value in (svc.get("environment") or {}).items()}
    environment.update(environment_overrides or {})
    arguments: dict[str, Any] = {
        "image": svc["image"],
        "name": container_name,
        "detach": True,
        "network_mode": "host",
        "environment": environment,
        "volumes": _volumes(svc.get("volumes") or []),
    }
    if "command" in svc:
        arguments["command"] = svc["command"]
    if svc.get("group_add"):
        arguments["group_add"] = [str(group) for group in svc["group_add"]]
    if svc.get("restart"):
        arguments["restart_policy"] = {"Name": svc["restart"]}
    if "healthcheck" in svc:
        check = svc["healthcheck"]
        arguments["healthcheck"] = {
            "test": check["test"],
            "interval": seconds_to_ns(check.get("interval", "30s")),
            "timeout": seconds_to_ns(check.get("timeout", "30s")),
            "retries": int(check.get("retries", 3)),
            "start_period": seconds_to_ns(check.get("start_period", "0s")),
        }
    if "logging" in svc:
        arguments["log_config"] = LogConfig(
            type=svc["logging"]["driver"], config={k: str(v) for k, v in (svc["logging"].get("options") or {}).items()}
        )
    if "mem_limit" in svc:
        arguments["mem_limit"] = svc["mem_limit"]
    if "memswap_limit" in svc:
        arguments["memswap_limit"] = svc["memswap_limit"]
    if "cpus" in svc:
        arguments["nano_cpus"] = int(float(svc["cpus"]) * 1e9)
    return arguments


def _volumes(entries: list[str]) -> dict[str, dict[str, str]]:
    volumes: dict[str, dict[str, str]] = {}
    for entry in entries:
        source, target, *options = entry.split(":")
        if not source.startswith("/"):
            raise ComposeError(f"volume {entry!r}: the boot test only binds host paths")
        volumes[source] = {"bind": target, "mode": options[0] if options else "rw"}
    return volumes

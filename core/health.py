"""The dashboard's health: the registry, the Docker engine (through the workers) and the broker."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from django.conf import settings

from catalog.registry import RegistryError, get_client
from maintenance import services as maintenance_services
from maintenance.tasks import check_engine

# How long the web process waits for a worker to answer a fresh engine check.
ENGINE_ANSWER_WAIT = 4.0


@dataclass
class Check:
    ok: bool
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        return {**data, **extra}


@dataclass
class HealthReport:
    registry: Check
    docker: Check
    broker: Check

    @property
    def ok(self) -> bool:
        return self.registry.ok and self.docker.ok and self.broker.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry.as_dict(),
            "docker": self.docker.as_dict(),
            "broker": self.broker.as_dict(),
        }


def check_registry() -> Check:
    extra = {"url": settings.REGISTRY_URL}
    try:
        get_client().ping()
    except RegistryError as e:
        return Check(False, e.message, extra)
    return Check(True, f"{settings.REGISTRY_URL}/v2/ answers.", extra)


def _redis_location() -> str:
    """REDIS_URL without a password, for display."""
    url = settings.REDIS_URL
    if "@" in url:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def check_broker() -> Check:
    extra = {"url": _redis_location()}
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as e:
        return Check(
            False, f"Cannot reach Redis at {_redis_location()} ({e}): start redis-server or set REDIS_URL.", extra
        )
    return Check(True, "Redis answers.", extra)


def check_docker(broker_ok: bool) -> Check:
    """The engine as the workers last saw it; asks a worker afresh when that is stale.

    The web process never opens the engine's socket (on the NAS it is root): a Celery
    worker checks it every ENGINE_HEALTH_INTERVAL seconds and on demand.
    """
    if not broker_ok:
        return Check(False, "Unknown: Redis is unreachable, so no worker can be asked about the Docker engine.")
    stale_after = 2 * settings.ENGINE_HEALTH_INTERVAL
    recorded = maintenance_services.recorded_engine_health()
    if recorded is None or time.time() - recorded["checked_at"] > stale_after:
        asked_at = time.time()
        check_engine.delay()
        deadline = asked_at + ENGINE_ANSWER_WAIT
        while time.time() < deadline:
            time.sleep(0.2)
            fresh = maintenance_services.recorded_engine_health()
            if fresh and fresh["checked_at"] >= asked_at:
                recorded = fresh
                break
        else:
            last = "" if recorded is None else f" (last answer {int(time.time() - recorded['checked_at'])} s ago)"
            return Check(
                False,
                f"No Celery worker answered within {ENGINE_ANSWER_WAIT:g} s{last}: only workers reach the "
                "Docker engine; start one (make run starts web, worker and beat).",
            )
    age = int(time.time() - recorded["checked_at"])
    extra: dict[str, Any] = {"host": recorded.get("host", ""), "checked_seconds_ago": age}
    return Check(bool(recorded["ok"]), recorded["detail"], extra)


def report() -> HealthReport:
    broker = check_broker()
    return HealthReport(registry=check_registry(), docker=check_docker(broker.ok), broker=broker)

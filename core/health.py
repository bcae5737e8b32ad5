"""The dashboard's health: each app's checks (registered by the app) and the broker's.

``core`` imports no app: the catalog registers the registry's check and maintenance the
Docker engine's, from their ``AppConfig.ready``. A check is called with the checks done
before it (the broker first: without it no worker can be asked anything).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings

from core.cache import redis_location
from core.checks import Check

HealthCheck = Callable[[dict[str, Check]], Check]

_registered: dict[str, HealthCheck] = {}


def register(name: str, check: HealthCheck) -> None:
    """Add ``check`` to the health report under ``name`` (shown in registration order)."""
    _registered[name] = check


@dataclass
class HealthReport:
    checks: dict[str, Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def __getitem__(self, name: str) -> Check:
        """``report.registry`` in a template."""
        return self.checks[name]


def check_broker() -> Check:
    extra = {"url": redis_location()}
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as e:
        return Check(
            False, f"Cannot reach Redis at {redis_location()} ({e}): start redis-server or set REDIS_URL.", extra=extra
        )
    return Check(True, "Redis answers.", extra=extra)


def report() -> HealthReport:
    broker = check_broker()
    done = {"broker": broker}
    checks = {name: check(done) for name, check in _registered.items()}
    checks["broker"] = broker
    return HealthReport(checks)

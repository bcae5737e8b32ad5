"""Real-services test environment for registry-admin (no Django imports here).

Start everything with :func:`start_all` or use the pytest plugin
``testenv.pytest_plugin``; see README-testenv.md.
"""

from testenv.errors import ServiceUnavailable
from testenv.registry_image import build_registry_image
from testenv.services import (
    DockerEngine,
    RedisService,
    RegistryService,
    Services,
    start_all,
    start_dockerd,
    start_redis,
    start_registry,
    stop_all,
)

__all__ = [
    "DockerEngine",
    "RedisService",
    "RegistryService",
    "ServiceUnavailable",
    "Services",
    "build_registry_image",
    "start_all",
    "start_dockerd",
    "start_redis",
    "start_registry",
    "stop_all",
]

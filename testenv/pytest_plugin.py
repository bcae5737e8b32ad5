"""pytest plugin: start the real services once per session and expose them as fixtures.

Register it from the root ``conftest.py`` (``pytest_plugins = ["testenv.pytest_plugin"]``)
and, so that the services exist before Django reads its settings, preferably also with
``-p testenv.pytest_plugin`` in ``addopts`` (see ``pytest_load_initial_conftests`` below).

Environment exported for the settings: REDIS_URL, REGISTRY_URL, DOCKER_HOST,
REGISTRY_CONTAINER, REGISTRY_CONFIG_PATH, TESTENV_REGISTRY_DATA_DIR.
Switches: ``TESTENV=off`` starts nothing (fixtures skip); ``CI=true`` turns a service
that cannot start into a failed run instead of skipped tests.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pytest

from testenv.errors import ServiceUnavailable
from testenv.services import DockerEngine, RegistryService, Services, start_all, stop_all


@dataclass
class _State:
    """Module-level because the plugin may be registered before a Config exists."""

    services: Services | None = None
    reason: str | None = None  # why services are unavailable (skip message)
    attempted: bool = False
    late_for_django: bool = False
    previous_sigterm: Any = None


_STATE = _State()
_LATE_WARNING = (
    "Django settings were imported before the services started, so settings read at import "
    "time did not see REDIS_URL/REGISTRY_URL/...; add '-p testenv.pytest_plugin' to addopts"
)
_LOCK = threading.Lock()


def _skip_reason(ns: argparse.Namespace) -> str | None:
    """Why this process should not start services (or None to start them)."""
    if os.environ.get("TESTENV", "").lower() in ("off", "0", "false", "no"):
        return "TESTENV=off: real services disabled"
    if getattr(ns, "collectonly", False) or getattr(ns, "help", False) or getattr(ns, "version", 0):
        return "collect-only/help run: real services not started"
    # pytest-xdist: the controller runs no tests; each worker starts its own services,
    # which is safe because everything is private per session.
    if getattr(ns, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        return "xdist controller: services are started by the workers"
    return None


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt so pytest unwinds and unconfigure cleans up."""
    raise KeyboardInterrupt(f"signal {signum}")


def _start(ns: argparse.Namespace) -> None:
    """Start everything once and export the environment; record failures, never raise."""
    with _LOCK:
        if _STATE.attempted:
            return
        _STATE.attempted = True
        # Tests never write into the developer's own data directory (secret key, SQLite).
        os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="ra-data-"))
        skip = _skip_reason(ns)
        if skip is not None:
            _STATE.reason = skip
            return
        try:
            services = start_all()
        except ServiceUnavailable as exc:
            _STATE.reason = str(exc)
            return
        except Exception as exc:
            _STATE.reason = f"testenv: unexpected {type(exc).__name__}: {exc}"
            return
        _STATE.services = services
        os.environ.update(services.environ())
        atexit.register(_shutdown)
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            _STATE.previous_sigterm = signal.SIG_DFL
            signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


def _shutdown() -> None:
    """Stop all services; idempotent, used by unconfigure and by atexit."""
    with _LOCK:
        services, _STATE.services = _STATE.services, None
        if _STATE.previous_sigterm is not None:
            with contextlib.suppress(ValueError):  # not in the main thread
                signal.signal(signal.SIGTERM, _STATE.previous_sigterm)
            _STATE.previous_sigterm = None
    if services is not None:
        stop_all(services)


def _django_settings_already_loaded() -> bool:
    """True if Django's settings were imported before our env existed (no Django import)."""
    conf = sys.modules.get("django.conf")
    settings = getattr(conf, "settings", None)
    return bool(settings is not None and getattr(settings, "configured", False))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Earliest start, only reached when loaded with ``-p testenv.pytest_plugin``.

    pytest-django (4.14) imports the settings module in its own
    ``pytest_load_initial_conftests``, before any ``pytest_configure`` and before the
    root conftest is even imported; settings that read REDIS_URL/REGISTRY_URL at import
    time therefore need the services started here, ahead of it (tryfirst).
    """
    _start(early_config.known_args_namespace)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Start (if the early hook did not) and fail the run on CI when a service is down."""
    if not _STATE.attempted:
        _STATE.late_for_django = _django_settings_already_loaded()
        _start(config.option)
    on_ci = os.environ.get("CI", "").lower() == "true"
    if on_ci and _STATE.services is None and _STATE.reason and _skip_reason(config.option) is None:
        pytest.exit(f"testenv: services unavailable on CI: {_STATE.reason}", returncode=3)
    if on_ci and _STATE.services is not None and _STATE.services.v3_missing:
        pytest.exit(f"testenv: the v3 registry is required on CI: {_STATE.services.v3_missing}", returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A run asked to use PostgreSQL never falls back to SQLite: without it, every test skips."""
    if _STATE.services is None and _postgres_requested() and _skip_reason(config.option) is None:
        marker = pytest.mark.skip(reason=f"TESTENV_DATABASE=postgres but: {_STATE.reason}")
        for item in items:
            item.add_marker(marker)


def _postgres_requested() -> bool:
    return os.environ.get("TESTENV_DATABASE", "").strip().lower() in ("postgres", "postgresql")


def pytest_unconfigure(config: pytest.Config) -> None:
    _shutdown()


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Print start-up timings (once) or why the services are missing."""
    lines: list[str] = []
    services = _STATE.services
    if services is not None:
        t = services.timings
        lines.append(
            "testenv: redis {redis:.2f}s, dockerd {dockerd:.2f}s, image {image:.2f}s, "
            "registry {registry:.2f}s, total {total:.2f}s".format(**t)
            + f" ({services.workdir}, registry {services.registry_url})"
        )
        second = services.registry_v2
        if services.postgres is not None:
            started = services.timings.get("postgres", 0.0)
            lines.append(f"testenv: PostgreSQL on 127.0.0.1:{services.postgres.port} (DATABASE_URL), {started:.2f}s")
        lines.append(
            f"testenv: primary registry {services.registry_image}"
            + (f", 2.8 registry {second.url}" if second is not None and second is not services.registry else "")
            + (f"; v3 tests skipped: {services.v3_missing}" if services.v3_missing else "")
        )
    elif _STATE.reason:
        lines.append(f"testenv: services unavailable: {_STATE.reason.splitlines()[0]}")
    if _STATE.late_for_django:
        lines.append(f"testenv: WARNING {_LATE_WARNING}")
    return lines


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _STATE.services is None and _STATE.reason and _skip_reason(config.option) is None:
        terminalreporter.section("testenv")
        terminalreporter.write_line(f"real services unavailable, dependent tests skipped:\n{_STATE.reason}")
    if _STATE.services is not None and _STATE.services.v3_missing:
        terminalreporter.section("testenv")
        terminalreporter.write_line(f"v3 registry tests skipped: {_STATE.services.v3_missing}")
    if _STATE.late_for_django:
        terminalreporter.section("testenv")
        terminalreporter.write_line(_LATE_WARNING)


def _require() -> Services:
    if _STATE.services is None:
        pytest.skip(_STATE.reason or "testenv services not started")
    return _STATE.services


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """The running :class:`~testenv.services.Services` (skips if unavailable)."""
    yield _require()


@pytest.fixture(scope="session")
def registry(services: Services) -> RegistryService:
    """The main registry container, named ``registry`` like in production (v3.1.1 when it exists)."""
    return services.registry


@pytest.fixture(scope="session")
def registry_v3(services: Services) -> RegistryService:
    """The v3.1.1 registry (the primary one); skips with the reason when there is no v3 binary."""
    if services.registry_v3 is None:
        pytest.skip(services.v3_missing or "no v3 registry")
    return services.registry_v3


@pytest.fixture(scope="session")
def registry_v2(services: Services) -> RegistryService:
    """Debian's Distribution 2.8.2, running beside the primary registry as ``registry-v2``."""
    if services.registry_v2 is None:
        pytest.skip("no 2.8 registry")
    return services.registry_v2


@pytest.fixture(scope="session", params=["v3", "v2"])
def each_registry(request: pytest.FixtureRequest, services: Services) -> RegistryService:
    """Parametrised over both registries: a test using it runs on v3.1.1 and on 2.8.2.

    ``each_registry.major`` (3 or 2) is what a test branches its expectations on.
    """
    found = services.registries().get(request.param)
    if found is None:
        pytest.skip(services.v3_missing or f"no {request.param} registry")
    return found


@pytest.fixture(scope="session")
def engine(services: Services) -> DockerEngine:
    """The session's private dockerd."""
    return services.engine


@pytest.fixture(scope="session")
def redis_url(services: Services) -> str:
    return services.redis_url

"""Fixtures for the catalog's tests: unique repository names in the shared test registry, a request log."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from inventory import sync
from registry_client.client import RegistryClient


@pytest.fixture
def repo_prefix(request: pytest.FixtureRequest) -> str:
    """A lowercase name prefix unique to this test (the registry is shared by the session)."""
    test = request.node.name.lower().replace("test_", "", 1)
    cleaned = "".join(char if char.isalnum() else "-" for char in test).strip("-")[:40].strip("-")
    return f"{cleaned}-{uuid.uuid4().hex[:6]}"


class RequestLog:
    """Wraps the real RegistryClient.request to record paths and how many ran at once."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.threads: set[str] = set()
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def count(self, part: str) -> int:
        return sum(part in path for path in self.paths)


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[RequestLog]:
    log = RequestLog()
    real = RegistryClient.request

    def spying(self: RegistryClient, method: str, path: str, **kwargs: Any) -> Any:
        with log._lock:
            log.paths.append(f"{method} {path}")
            log.threads.add(threading.current_thread().name)
            log.in_flight += 1
            log.most_in_flight = max(log.most_in_flight, log.in_flight)
        try:
            time.sleep(0.005)  # let concurrent requests overlap measurably
            return real(self, method, path, **kwargs)
        finally:
            with log._lock:
                log.in_flight -= 1

    monkeypatch.setattr(RegistryClient, "request", spying)
    yield log


def read_into_inventory(*names: str) -> None:
    """What a sync (or the registry's events) would do for these repositories: the catalog's
    repository list shows only what the inventory holds."""
    for name in names:
        assert sync.sync_repository(name), name

"""Exceptions shared by the test-environment modules."""

from __future__ import annotations


class ServiceUnavailable(RuntimeError):
    """A real service (redis, dockerd, registry, ...) could not be started.

    ``name`` says which one and ``reason`` why, including the tail of its log, so that
    a skipped or failed test run points at the cause instead of a timeout.
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason

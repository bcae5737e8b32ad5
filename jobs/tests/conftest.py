"""Fixtures for the jobs tests: a Redis of the test's own, as the maintenance tests have it."""

from maintenance.tests.conftest import private_redis

__all__ = ["private_redis"]

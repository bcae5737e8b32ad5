"""Fixtures for the maintenance tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _role_groups(request: pytest.FixtureRequest) -> None:
    """Put the role groups back before each database test.

    A transactional test (the Celery worker and the browser need one) flushes every table at
    its end, including the groups the roles migration made; the root conftest's ``make_user``
    then fails for the next test. Runs after pytest-django's own autouse setup of the database.
    """
    if request.node.get_closest_marker("django_db") is None:
        return
    from django.contrib.auth.models import Group

    from core.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role.group_name)

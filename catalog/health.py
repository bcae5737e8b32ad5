"""The registry's part of the dashboard's health: does its v2 API answer?"""

from __future__ import annotations

from django.conf import settings

from core.checks import Check
from registry_client.client import RegistryError, get_client


def check_registry(done: dict[str, Check]) -> Check:
    extra = {"url": settings.REGISTRY_URL}
    try:
        get_client().ping()
    except RegistryError as e:
        return Check(False, e.message, extra=extra)
    return Check(True, f"{settings.REGISTRY_URL}/v2/ answers.", extra=extra)

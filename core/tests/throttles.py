"""Tests that need the API's throttles at small rates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def throttle_rates(settings: Any, rates: dict[str, str]) -> Iterator[None]:
    """The API's throttles at ``rates`` (e.g. ``{"token": "3/minute", "anon": "2/minute"}``) inside
    the block: DRF's settings and the rates its throttle classes read once at import, put back after."""
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api_settings.reload()
    old_rates = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        yield
    finally:
        SimpleRateThrottle.THROTTLE_RATES = old_rates
        api_settings.reload()

"""Notifications' settings come from the environment; a bad value stops the start naming the variable."""

from __future__ import annotations

import pytest

from core.tests.test_settings import run_check


@pytest.mark.parametrize(
    ("name", "value"),
    [("DASHBOARD_URL", "nas.lan:8000"), ("NOTIFICATIONS_ATTEMPTS", "0"), ("NOTIFICATIONS_ALLOW_LOOPBACK", "maybe")],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    result = run_check(**{name: value})
    assert result.returncode != 0 and name in result.stderr


def test_empty_values_mean_the_defaults() -> None:
    empty = {name: "" for name in ("DASHBOARD_URL", "NOTIFICATIONS_ATTEMPTS", "NOTIFICATIONS_ALLOW_LOOPBACK")}
    result = run_check(**empty)
    assert result.returncode == 0, result.stderr

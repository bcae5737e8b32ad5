"""Docker's timestamps (``State.StartedAt``): RFC 3339 with nanoseconds, read into datetimes."""

from __future__ import annotations

import re
from datetime import datetime

_DOCKER_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,6})?\d*(Z|[+-]\d\d:\d\d)?$")


def parse_docker_time(value: str | None) -> datetime | None:
    """``2026-11-27T01:47:34.130531501Z`` -> an aware datetime (nanoseconds cut to microseconds).

    None for an empty value and for docker's "never" (``0001-01-01T00:00:00Z``).
    """
    match = _DOCKER_TIME.match(value or "")
    if not match or match.group(1).startswith("0001-"):
        return None
    offset = match.group(3) or "Z"
    return datetime.fromisoformat(match.group(1) + (match.group(2) or "") + ("+00:00" if offset == "Z" else offset))

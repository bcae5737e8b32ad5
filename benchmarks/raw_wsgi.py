"""The raw baseline of ``benchmarks/events.py``: the events' answer from a bare WSGI function
(no Django, no database), under the same gunicorn, so that the machine's load can be read off."""

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"stored": 1, "duplicates": 0, "ignored": 0}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]

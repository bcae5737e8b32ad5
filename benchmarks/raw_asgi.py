"""The raw baseline of ``benchmarks/events.py``: the events' answer from a bare ASGI function
(no Django, no database), under the same gunicorn, so that the machine's load can be read off."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

BODY = b'{"stored": 1, "duplicates": 0, "ignored": 0}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def application(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})

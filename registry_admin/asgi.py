"""The web's application, served by gunicorn's ``asgi`` worker on uvloop (scripts/run.sh,
deploy/entrypoint.sh).

Two answers are given on the event loop itself: the registry's notifications
(``inventory.events_asgi``) and ``GET /-/alive``. Everything else is Django's WSGI application,
unchanged (whitenoise, middleware, sessions, CSRF), run by a2wsgi in a pool of ``WEB_THREADS``
threads: pages behave as under gunicorn's gthread worker.

Why: the registry waits for each answer before it sends the next event, and under gthread one
answer cost more of gunicorn's own CPU than of ours (issue 22); and ``/-/alive``, the container's
health check, waited for a free thread, and then for the GIL, behind slow pages (issue 26). On the
loop it needs neither a thread nor Django's handler: Django answers the first one, and later ones
get the same status, headers and body (its ``Expires``, the time of the answer, renewed).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from django.utils.http import http_date

from registry_admin.wsgi import application as django_wsgi

ALIVE = "/-/alive"

# After the apps are loaded (registry_admin.wsgi).
from inventory.events_asgi import ASGIApp, EventsApplication, Message, Receive, Scope, Send, is_secure  # noqa: E402


class AliveApplication:
    """``GET /-/alive`` answered on the loop as Django answered it first (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._answers: dict[bool, tuple[int, list[tuple[bytes, bytes]], bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != ALIVE:
            return await self.app(scope, receive, send)
        secure = is_secure(scope, dict(scope["headers"]))
        known = self._answers.get(secure)
        if known is None:
            return await self.app(scope, receive, self._recorder(secure, send))
        status, headers, body = known
        expires = [(b"expires", http_date().encode())] if any(name == b"expires" for name, _ in headers) else []
        headers = [(name, value) for name, value in headers if name != b"expires"] + expires
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return None

    def _recorder(self, secure: bool, send: Send) -> Send:
        """``send`` that keeps Django's answer when it is a plain 200 (no cookie)."""
        start: Message = {}
        body: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(bytes(message.get("body", b"")))
                headers = [(bytes(name).lower(), bytes(value)) for name, value in start.get("headers", [])]
                plain = start.get("status") == 200 and all(name != b"set-cookie" for name, _ in headers)
                if plain and not message.get("more_body", False):
                    self._answers[secure] = (200, headers, b"".join(body))
            await send(message)

        return record


PAGE_NICENESS = 5


def _pages_yield() -> None:
    """Run by each page thread as it starts: a lower CPU priority (nice +5, Linux sets it per
    thread) than the event loop's thread, so that on a busy machine the loop (the registry's
    events, ``/-/alive``) is scheduled first when the GIL is handed over (issue 26)."""
    with contextlib.suppress(OSError):  # not allowed (seccomp): the pages run at the loop's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + PAGE_NICENESS)


def build(threads: int, django: Any = django_wsgi) -> EventsApplication:
    """The application: events, then ``/-/alive``, then Django's WSGI ``django`` in ``threads`` threads."""
    pages = WSGIMiddleware(django, workers=threads)
    pages.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=threads, initializer=_pages_yield)
    return EventsApplication(AliveApplication(pages))  # type: ignore[arg-type]


application = build(int(os.environ.get("WEB_THREADS") or "8"))

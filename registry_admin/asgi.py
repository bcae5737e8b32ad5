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

import asyncio
import contextlib
import gc
import os
import threading
import time
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


class QuietCollections:
    """Django's pages, counted while they run, and the web's full garbage collections taken
    between them (issue 26).

    A full collection walks every object the process has kept since ``gc.freeze`` and holds the
    GIL throughout; run by whichever page thread's allocation happened to trigger it, it took
    200-270 ms under 8 slow tag lists on this 2-core machine (a nice +5 thread holding the GIL
    while the machine was busy), and ``/-/alive`` and the registry's events waited on the loop
    behind it: the slowest ``/-/alive`` answers (benchmarks/README.md, "Patterns"). The web
    process therefore leaves only the young generations to the interpreter
    (``young_generations_only``, run by gunicorn's ``post_worker_init``) and the loop takes a
    full collection here: when no page has run for ``idle`` seconds since the last one, and
    after ``latest`` seconds at the latest, pages or not (cyclic garbage is then held at most
    that long).
    """

    def __init__(self, app: ASGIApp, idle: float = 60.0, latest: float = 600.0, check: float = 5.0) -> None:
        self.app = app
        self.idle = idle
        self.latest = latest
        self.check = check
        self.running = 0
        self.last = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._timer is None:
            self._later()
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1

    def _later(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.check, self._tick)

    def _tick(self) -> None:
        since = time.monotonic() - self.last
        if (self.running == 0 and since >= self.idle) or since >= self.latest:
            gc.collect()
            self.last = time.monotonic()
        self._later()


def young_generations_only() -> None:
    """The interpreter's automatic collections stop at the young generations: the oldest one's
    threshold so high that it is never reached (``QuietCollections`` takes the full ones)."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 2**31 - 1)


def build(threads: int, django: Any = django_wsgi) -> EventsApplication:
    """The application: events, then ``/-/alive``, then Django's WSGI ``django`` in ``threads`` threads."""
    pages = WSGIMiddleware(django, workers=threads)
    pages.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=threads, initializer=_pages_yield)
    return EventsApplication(AliveApplication(QuietCollections(pages)))  # type: ignore[arg-type]


application = build(int(os.environ.get("WEB_THREADS") or "8"))

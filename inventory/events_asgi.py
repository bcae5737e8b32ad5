"""The registry's notifications answered on the web's event loop, ahead of Django's handler.

``registry_admin/asgi.py`` puts ``EventsApplication`` in front of Django (run in a thread pool by
a2wsgi). A ``POST /api/v1/events/`` that carries the right token and the registry's Content-Type,
with a length within ``DATA_UPLOAD_MAX_MEMORY_SIZE``, is answered here: the body checked and
parsed as ``inventory.receiving`` does (the same functions), its events handed to the one
``Writer`` thread of the process, which stores every envelope waiting at that moment in one
transaction (``receiving.store`` and ``receiving.insert_rows``: the statements of Django's path,
committed without waiting for the disk as ``receiving.quick_commit`` says), and 200 only once
that transaction is committed; then the worker is woken (``receiving.wake_soon``).

Why: the registry sends one event per request and waits for each answer, so the cost of one
answer bounds how fast its queue drains. Django's handler (middleware, signals, a transaction and
a connection check per request) and gunicorn's gthread worker cost about 1 ms of CPU an event;
on the event loop an answer needs no thread hand-over, and a commit serves a whole group of
senders (benchmarks/README.md, Events).

Everything else goes to Django, untouched, and ``inventory.middleware.EventsReceiver`` answers it
there with ``receiving.answer``: a wrong or missing token (401, then the anonymous throttle's
429, counted as refusals), another Content-Type (415), a body without a length or too large
(413), a body that is not JSON or not the registry's envelope (400), a plain-HTTP request while
``SECURE_SSL_REDIRECT`` is on (SecurityMiddleware's redirect), and any failure of the writer's
transaction (Django's handler tries again on its own connection and answers 503 if that fails
too, so the registry retries: an event acknowledged is stored).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import queue
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware

from core.api import parsers
from inventory import receiving
from inventory.models import Event

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GROUP = 256  # envelopes a transaction at most


class Declined(Exception):
    """This request is Django's to answer (see the module's docstring)."""


class Writer:
    """One thread that stores envelopes, all those waiting in one transaction (group commit).

    Its Django connection is its own (connections are per thread) and kept between groups; a
    failed group closes it, and every envelope of that group is declined (Django answers them)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Any, list[Event], Future[receiving.Received]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def submit(self, document: Any, events: list[Event]) -> Future[receiving.Received]:
        if self._pid != os.getpid():  # none yet in this process (or one left in the parent before a fork)
            with self._lock:
                if self._pid != os.getpid():
                    self._thread = threading.Thread(target=self._run, name="events-writer", daemon=True)
                    self._thread.start()
                    self._pid = os.getpid()
        done: Future[receiving.Received] = Future()
        self._queue.put((document, events, done))
        return done

    def close(self) -> None:
        """Stop the thread once what is queued is stored, and close its connection (tests; shutdown)."""
        with self._lock:
            thread, self._thread, self._pid = self._thread, None, 0
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first]
                while len(group) < GROUP:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # stop after this group
                        break
                    group.append(item)
                # An answer no longer awaited (the client went away) is not stored: the registry
                # sends it again. The others can no longer be cancelled.
                group = [item for item in group if item[2].set_running_or_notify_cancel()]
                if group:
                    self._write(group)
        finally:
            connection.close()

    def _write(self, group: list[tuple[Any, list[Event], Future[receiving.Received]]]) -> None:
        try:
            received = self._transaction([(document, events) for document, events, _ in group])
        except Exception:  # the thread goes on: each of these is declined, Django answers it
            logger.warning("Could not store the events on the quick path; Django's handler answers.", exc_info=True)
            try:
                connection.close()
            except Exception:  # already broken: nothing to keep
                logger.debug("closing a broken events connection failed", exc_info=True)
            for _, _, done in group:
                done.set_exception(Declined())
            return
        if any(r.stored for r in received):
            receiving.wake_soon()
        for (_, _, done), result in zip(group, received, strict=True):
            done.set_result(result)

    def _transaction(self, envelopes: list[tuple[Any, list[Event]]]) -> list[receiving.Received]:
        """Every envelope's useful events inserted in one transaction: their tallies."""
        with receiving.quick_commit(), connection.cursor() as cursor:
            insert = partial(receiving.insert_rows, cursor)
            return [receiving.store(document, events, insert) for document, events in envelopes]


class EventsApplication:
    """An ASGI application: the registry's events answered here, everything else by ``django``."""

    def __init__(self, django: ASGIApp) -> None:
        self.django = django
        self.writer = Writer()
        self._headers: dict[bool, list[tuple[bytes, bytes]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == receiving.PATH:
            headers = dict(scope["headers"])
            try:
                self._check(scope, headers)
            except Declined:
                return await self.django(scope, receive, send)
            body = await _body(receive)
            if body is None:  # the client went away
                return None
            try:
                answer = await self._answer(body)
            except Declined:
                return await self.django(scope, _replay(body, receive), send)
            secure = is_secure(scope, headers)
            await send({"type": "http.response.start", "status": 200, "headers": self._response(answer, secure)})
            await send({"type": "http.response.body", "body": answer})
            return None
        return await self.django(scope, receive, send)

    def close(self) -> None:
        self.writer.close()

    def _check(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        """Declined unless this request is one to answer here."""
        token: str = settings.REGISTRY_EVENTS_TOKEN
        header = headers.get(b"authorization", b"")
        if (
            not token
            or not header.startswith(b"Bearer ")
            or not hmac.compare_digest(header[7:], token.encode())
            or (settings.SECURE_SSL_REDIRECT and not is_secure(scope, headers))
        ):
            raise Declined
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if content_type not in receiving.CONTENT_TYPES:
            raise Declined
        try:
            length = int(headers.get(b"content-length", b""))
        except ValueError:
            raise Declined from None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length <= 0 or (limit is not None and length > limit):
            raise Declined

    async def _answer(self, body: bytes) -> bytes:
        try:
            document = parsers.loads(body)
            events = receiving.parse(document, body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # MalformedEvents, JsonTooDeep included
            raise Declined from None
        received = await asyncio.wrap_future(self.writer.submit(document, events))
        return json.dumps(
            {"stored": received.stored, "duplicates": received.duplicates, "ignored": received.ignored}
        ).encode()

    def _response(self, answer: bytes, secure: bool) -> list[tuple[bytes, bytes]]:
        """The headers of a 200: Django's JSON ones and those SecurityMiddleware adds (HSTS over HTTPS)."""
        headers = self._headers.get(secure)
        if headers is None:
            request = type("Request", (), {"is_secure": lambda self: secure})()
            response = SecurityMiddleware(lambda request: HttpResponse()).process_response(request, HttpResponse())
            headers = self._headers[secure] = [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in response.items()
                if name.lower() != "content-type"
            ]
        return [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode()), *headers]


def is_secure(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """Django's ``request.is_secure()`` for this request (SECURE_PROXY_SSL_HEADER first)."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, secure_value = proxy
        value = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1"))
        if value is not None:
            return bool(value.decode("latin-1").split(",", 1)[0].strip() == secure_value)
    return bool(scope.get("scheme") == "https")


async def _body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for Django once the body is read here: the body, then the client's own messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay

"""The registry's notifications answered in the WSGI callable, ahead of Django's handler.

``registry_admin/wsgi.py`` wraps Django's application in ``EventsApplication``. A ``POST
/api/v1/events/`` that carries the right token and the registry's Content-Type, with a body
within ``DATA_UPLOAD_MAX_MEMORY_SIZE``, is answered here: the body checked and parsed as
``inventory.receiving`` does (the same functions), its events written with one prepared
``INSERT ... ON CONFLICT DO NOTHING`` on a database connection this thread keeps for nothing
else (committed without waiting for the disk, as ``receiving.quick_commit``), 200 only once it
is committed, and the worker woken (``receiving.wake_soon``).

Why: the registry sends one event per request and waits for each answer, and Django's handler
(the WSGIRequest, the request_started/finished signals closing and reopening the database
connection, the middleware chain, the cursor wrappers, a transaction, ``on_commit``) cost
about 2 ms of CPU an event, where the answer itself needs a fifth of that (benchmarks/README.md,
Events).

Everything else goes to Django's handler, untouched, and ``inventory.middleware.EventsReceiver``
answers it there with ``receiving.answer``: a wrong or missing token (401, then the anonymous
throttle's 429, counted as refusals), another Content-Type (415), a body without a length or too
large (413), a body that is not JSON or not the registry's envelope (400), a plain-HTTP request
while ``SECURE_SSL_REDIRECT`` is on (SecurityMiddleware's redirect), and any failure of the
insert here (the handler tries again on Django's connection and answers 503 if it fails too, so
the registry retries: an event acknowledged is stored).
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.utils import timezone

from core.api import parsers
from inventory import receiving
from inventory.models import Event

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_FIELDS = [f for f in Event._meta.concrete_fields if not f.primary_key]
_NAMES = [f.attname for f in _FIELDS]
_DATETIMES = frozenset(f.attname for f in _FIELDS if f.get_internal_type() == "DateTimeField")


class _Declined(Exception):
    """This request is Django's to answer (see the module's docstring)."""


class EventsApplication:
    """Django's WSGI application with the registry's events answered first."""

    def __init__(self, django: WSGIApp) -> None:
        self.django = django
        self._headers: dict[bool, list[tuple[str, str]]] = {}
        self._local = threading.local()
        self._opened: list[BaseDatabaseWrapper] = []
        self._opened_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == receiving.PATH:
            try:
                return self._answer(environ, start_response)
            except _Declined:
                pass
        return self.django(environ, start_response)

    # --- The answer ------------------------------------------------------------------------

    def _answer(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        secure = _is_secure(environ)
        token: str = settings.REGISTRY_EVENTS_TOKEN
        header = environ.get("HTTP_AUTHORIZATION", "")
        if (
            not token
            or not header.startswith("Bearer ")
            or not hmac.compare_digest(header[7:].encode(), token.encode())
            or (settings.SECURE_SSL_REDIRECT and not secure)
        ):
            raise _Declined
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in receiving.CONTENT_TYPES:
            raise _Declined
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise _Declined from None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length <= 0 or (limit is not None and length > limit):
            raise _Declined
        body = environ["wsgi.input"].read(length)
        # From here the body is read: anything declined goes to Django with it.
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            document = parsers.loads(body)
            events = receiving.parse(document, body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # MalformedEvents, JsonTooDeep included
            raise _Declined from None
        received = receiving.store(document, events, self._store)
        if received.stored:
            receiving.wake_soon()
        answer = json.dumps(
            {"stored": received.stored, "duplicates": received.duplicates, "ignored": received.ignored}
        ).encode()
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(answer))), *self._security(secure)],
        )
        return [answer]

    def _security(self, secure: bool) -> list[tuple[str, str]]:
        """The headers Django's SecurityMiddleware adds to an answer of this request (HSTS over HTTPS)."""
        headers = self._headers.get(secure)
        if headers is None:
            request = type("Request", (), {"is_secure": lambda self: secure})()
            response = SecurityMiddleware(lambda request: HttpResponse()).process_response(request, HttpResponse())
            headers = self._headers[secure] = [
                (name, value) for name, value in response.items() if name.lower() != "content-type"
            ]
        return headers

    # --- The insert --------------------------------------------------------------------------

    def _store(self, rows: list[Event]) -> int:
        """Insert ``rows`` in one statement and commit; how many were new. Declined on any failure."""
        try:
            database = self._database()
            with receiving.writer_lock_for(database):
                cursor = database.connection.cursor()
                try:
                    cursor.execute(_statement(database, len(rows)), _values(database, rows))
                    written = max(int(cursor.rowcount), 0)
                finally:
                    cursor.close()
            return written
        except Exception:
            logger.warning("Could not store the events on the quick path; Django's handler answers.", exc_info=True)
            self._discard()
            raise _Declined from None

    def _database(self) -> BaseDatabaseWrapper:
        """This thread's own connection for the events' inserts: in autocommit mode (one statement,
        one transaction), and committing without waiting for the disk (``receiving.quick_commit``
        says why that is safe). Kept for the thread's next request; a failure drops it."""
        database: BaseDatabaseWrapper | None = getattr(self._local, "database", None)
        if database is None or database.connection is None:  # none yet, or closed by ``close``
            database = connections.create_connection("default")
            database.ensure_connection()
            raw = database.connection
            if database.vendor == "sqlite":
                raw.execute("PRAGMA synchronous=NORMAL")
            elif database.vendor == "postgresql":
                with raw.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO OFF")
            self._local.database = database
            with self._opened_lock:
                self._opened.append(database)
        return database

    def close(self) -> None:
        """Close every thread's events connection (tests; a server that stops)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for database in opened:
            raw = database.connection
            if raw is not None:
                raw.close()  # the driver's close: the wrapper refuses to be closed from another thread
                database.connection = None

    def _discard(self) -> None:
        database = getattr(self._local, "database", None)
        self._local.database = None
        if database is not None:
            with self._opened_lock:
                if database in self._opened:
                    self._opened.remove(database)
            try:
                database.close()
            except Exception:  # already broken: nothing to keep
                logger.debug("closing a broken events connection failed", exc_info=True)


def _is_secure(environ: dict[str, Any]) -> bool:
    """Django's ``request.is_secure()`` for this environ (SECURE_PROXY_SSL_HEADER first)."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        header, secure_value = proxy
        value = environ.get(header)
        if value is not None:
            return bool(value.split(",", 1)[0].strip() == secure_value)
    return bool(environ.get("wsgi.url_scheme") == "https")


_statements: dict[tuple[str, int], str] = {}


def _statement(database: BaseDatabaseWrapper, count: int) -> str:
    """``INSERT INTO event (...) VALUES (...), ... ON CONFLICT DO NOTHING`` for ``count`` rows, in the
    driver's own placeholders (the same text each time: psycopg prepares it after a few runs)."""
    key = (database.vendor, count)
    if key not in _statements:
        quote = database.ops.quote_name
        placeholder = "?" if database.vendor == "sqlite" else "%s"
        row = "(" + ", ".join([placeholder] * len(_FIELDS)) + ")"
        table = quote(Event._meta.db_table)
        columns = ", ".join(quote(str(f.column)) for f in _FIELDS)
        rows = ", ".join([row] * count)
        # The model's own quoted names; every value is a parameter.
        _statements[key] = f"INSERT INTO {table} ({columns}) VALUES {rows} ON CONFLICT DO NOTHING"  # noqa: S608
    return _statements[key]


def _values(database: BaseDatabaseWrapper, rows: list[Event]) -> list[Any]:
    """The rows' values in ``_FIELDS`` order, as the driver takes them: what ``pre_save`` and
    ``get_db_prep_save`` give for these fields (``received_at`` is now, datetimes adapted)."""
    adapt = database.ops.adapt_datetimefield_value
    now = timezone.now()
    values: list[Any] = []
    for row in rows:
        row.received_at = now
        for name in _NAMES:
            value = getattr(row, name)
            values.append(adapt(value) if name in _DATETIMES else value)
    return values

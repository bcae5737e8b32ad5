"""Receiving the registry's notifications: the lean path of ``POST /api/v1/events/``.

The registry posts one event per request and one request at a time per endpoint, so the time
of one answer bounds how fast its in-memory queue drains (distribution#2422: that queue is
lost when it restarts). So this path does only what an answer needs:

- a post with the right token and the registry's Content-Type is answered on the web's event
  loop, before Django's handler (``inventory.events_asgi``: ``parse`` there, ``store`` and
  ``insert_rows`` in its writer thread, many envelopes a transaction, and ``wake_soon`` from
  here); everything else, and any failure there, reaches
  ``inventory.middleware.EventsReceiver``, ahead of sessions, CSRF, login, messages, CSP and
  axes, none of which concern the registry's bearer token, which answers with ``answer`` (the
  DRF view's ``post`` calls the same ``answer`` where the middleware is not installed);
- the body is checked and parsed here (a malformed one is 400 and stores nothing), then the
  envelope's events are written with **one** ``INSERT ... ON CONFLICT DO NOTHING``: the unique
  event id makes a repeated delivery a duplicate without a query first;
- that insert is committed without waiting for the disk (SQLite ``synchronous=NORMAL`` in WAL
  mode, PostgreSQL ``synchronous_commit=off``, for this one statement): a crash of the process
  loses nothing, a power cut may lose the last few milliseconds of events (the registry's
  own queue, in memory, is less durable than that) and never corrupts the database;
- applying them is a worker's task (``inventory.tasks.apply_events``): ``wake`` sends it at
  most once until it has started (a Redis ``SET NX``, from the waker thread: one for a burst of
  envelopes, ``wake_soon``), and the web process never asks the registry anything for an event.
"""

from __future__ import annotations

import fcntl
import hmac
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from rest_framework.exceptions import Throttled

from core.api import parsers
from core.cache import UNREACHABLE, state_for
from core.errors import ActionableError, service_fault
from core.tokens import AnonAddressThrottle
from core.worker import send
from inventory.models import Event
from inventory.task_names import APPLY_EVENTS
from registry_client import references
from registry_client.manifests import parse_timestamp

logger = logging.getLogger(__name__)

PATH = "/api/v1/events/"
CONTENT_TYPES = (
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
    "application/json",
)
ACTIONS = ("push", "pull", "mount", "delete")
# Set while an apply task is queued and has not started: the envelopes meanwhile send none.
WAKE_KEY = "inventory:events:wake"
WAKE_TTL = 10  # seconds: a task lost with its message is sent again by the next envelope after this


class EventsRefused(ActionableError):
    """A refusal of ``POST /api/v1/events/``: ``{"detail"}`` with its status (and headers).

    The one error path of ``answer``: each check raises one, and ``answer`` turns it into the
    answer, as ``core.api.exceptions`` does for the API's views (this path runs before DRF)."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, status=status)
        self.headers = headers


class MalformedEvents(EventsRefused, ValueError):
    """The body is not ``{"events": [...]}`` of objects with an id, a timestamp and an action."""


@dataclass(frozen=True)
class Received:
    stored: int
    duplicates: int
    ignored: int


def _text(value: Any, limit: int) -> str:
    return str(value)[:limit] if value is not None else ""


def _object(item: dict[str, Any], key: str) -> dict[str, Any]:
    value = item.get(key)
    return value if isinstance(value, dict) else {}


def _host(address: str) -> str:
    """``127.0.0.1:38134`` -> ``127.0.0.1``, ``[::1]:5000`` -> ``::1``: each connection has its own port."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def _utc(when: datetime) -> datetime | None:
    """``when`` in UTC, as the database keeps it; None in the calendar's first and last years, where
    the pull window's arithmetic (and, with an offset, UTC itself) overflows."""
    try:
        utc = when.astimezone(UTC)
    except OverflowError:
        return None
    return utc if 1 < utc.year < 9999 else None


# OCI's digest grammar (algorithm:encoded), wider than the sha256 the dashboard asks for.
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


def _plausible(item: dict[str, Any], target: dict[str, Any], nul: bool = True) -> bool:
    """Whether the event names what a registry can hold: a repository name, tag and digest of the
    distribution grammar (or none), and no NUL anywhere (PostgreSQL refuses it in text). The
    endpoint needs only the events token: names outside the grammar (HTML, NUL) are not stored."""
    if nul and _has_nul(item):
        return False
    checks = (
        ("repository", references.validate_name),
        ("tag", references.validate_tag),
        ("digest", _digest),
    )
    for key, validate in checks:
        value = target.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            return False
        try:
            validate(value)
        except ValueError:
            return False
    return True


def _has_nul(value: Any) -> bool:
    """Whether a NUL is in any key or string of ``value`` (nested at most MAX_JSON_DEPTH levels)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _digest(value: str) -> str:
    if not _DIGEST.fullmatch(value):
        raise ValueError(value)
    return value


def parse(document: Any, body: bytes | None = None) -> list[Event]:
    """The events of a notification body, as unsaved rows; MalformedEvents when it is not one.

    ``body``, the JSON text ``document`` was parsed from, spares the search for NULs when it has
    no ``\\u0000``: JSON writes a NUL inside a string only so, and refuses one anywhere else."""
    nul = body is None or b"\\u0000" in body
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedEvents('Expected a JSON object {"events": [...]}, as the registry sends.')
    unknown = sorted(set(document) - {"events"})
    if unknown:  # the registry's envelope has events only (notifications.Envelope)
        raise MalformedEvents(f'Unknown field(s) {", ".join(unknown)[:200]}: the body is {{"events": [...]}}.')
    events = []
    for position, item in enumerate(document["events"]):
        if not isinstance(item, dict):
            raise MalformedEvents(f"events[{position}] is not an object.")
        event_id = item.get("id")
        stamped = parse_timestamp(item.get("timestamp"))
        if not isinstance(event_id, str) or not event_id or len(event_id) > 100:
            raise MalformedEvents(f"events[{position}] has no id.")
        if stamped is None:
            raise MalformedEvents(f"events[{position}] has no readable timestamp (RFC 3339).")
        if not isinstance(item.get("action", ""), str):
            raise MalformedEvents(f"events[{position}].action is not a string.")
        for key in ("target", "request", "actor", "source"):
            if key in item and not isinstance(item[key], dict):
                raise MalformedEvents(f"events[{position}].{key} is not an object.")
        when = _utc(stamped)
        if when is None:  # readable, but no use: counted as ignored
            continue
        target, request, actor, source = (_object(item, key) for key in ("target", "request", "actor", "source"))
        if not _plausible(item, target, nul):  # a name the registry could never have sent: ignored
            continue
        size = target.get("size", target.get("length"))
        events.append(
            Event(
                event_id=event_id,
                timestamp=when,
                action=_text(item.get("action"), 20),
                repository=_text(target.get("repository"), 255),
                tag=_text(target.get("tag"), 128),
                digest=_text(target.get("digest"), 100),
                media_type=_text(target.get("mediaType"), 255),
                size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
                actor=_text(actor.get("name"), 255),
                address=_text(request.get("addr"), 255),
                host=_host(_text(request.get("addr"), 255)),
                method=_text(request.get("method"), 10),
                user_agent=_text(request.get("useragent"), 500),
                instance=_text(source.get("instanceID"), 100),
            )
        )
    return events


def receive(document: Any) -> Received:
    """Store the events of a notification in one statement; a worker applies them (``wake``)."""
    received = store(document, parse(document), _insert)
    if received.stored:
        transaction.on_commit(wake_soon)
    return received


def store(document: Any, events: list[Event], insert: Callable[[list[Event]], int]) -> Received:
    """Insert the useful ``events`` of ``document`` (each id once) with ``insert``, and count them:
    the one tally of both receiving paths (Django's handler here, ``inventory.events_asgi``)."""
    kept = [e for e in events if useful(e)]
    rows = {e.event_id: e for e in kept}
    stored = insert(list(rows.values())) if rows else 0
    received = len(document["events"])  # parse() has checked the shape, and left out unusable times
    return Received(stored=stored, duplicates=len(kept) - stored, ignored=received - len(kept))


def useful(event: Event) -> bool:
    """Whether an event is worth storing: an action the inventory follows, and not caused by the
    dashboard's own requests (its HEADs would count as pulls, REGISTRY-FACTS.md)."""
    return event.action in ACTIONS and not event.user_agent.startswith("registry-admin/")


_FIELDS = [f for f in Event._meta.concrete_fields if not f.primary_key]
_statements: dict[tuple[str, int], str] = {}


def _insert(rows: list[Event]) -> int:
    """One ``INSERT ... ON CONFLICT DO NOTHING`` of ``rows`` (more only past the database's limit
    of parameters); how many were new.

    The statement ``bulk_create(ignore_conflicts=True)`` sends, kept per row count, with the
    count of rows written, which bulk_create does not return. The commit does not wait for the
    disk (see the module's docstring)."""
    with _quick_commit() as cursor:
        return insert_rows(cursor, rows)


def insert_rows(cursor: Any, rows: list[Event]) -> int:
    """``rows`` inserted with ``cursor`` (of this thread's connection) inside the caller's
    transaction, ignoring those already stored; how many were new. The one statement builder of
    both receiving paths (``_insert`` here, the writer of ``inventory.events_asgi``)."""
    size = max(connection.ops.bulk_batch_size(_FIELDS, rows), 1)
    written = 0
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        for sql, params in _statements_for(chunk):
            cursor.execute(sql, params)
            written += max(cursor.rowcount, 0)
    return written


def _statements_for(chunk: list[Event]) -> list[tuple[str, Any]]:
    """On SQLite the statement is kept per row count and the values prepared here (the compiler's
    work, a third of an answer); elsewhere the compiler's own statements (PostgreSQL's bulk
    insert passes one array a column)."""
    if connection.vendor != "sqlite":
        query = InsertQuery(Event, on_conflict=OnConflict.IGNORE)
        query.insert_values(_FIELDS, list[Model](chunk))
        return list(query.get_compiler(connection=connection).as_sql())
    params = [
        field.get_db_prep_save(field.pre_save(row, True), connection=connection) for row in chunk for field in _FIELDS
    ]
    return [(_statement(len(chunk)), params)]


def _statement(count: int) -> str:
    key = (connection.vendor, count)
    if key not in _statements:
        query = InsertQuery(Event, on_conflict=OnConflict.IGNORE)
        query.insert_values(_FIELDS, [Event(timestamp=timezone.now()) for _ in range(count)])
        ((sql, _),) = query.get_compiler(connection=connection).as_sql()
        _statements[key] = sql
    return _statements[key]


@contextmanager
def _quick_commit() -> Iterator[Any]:
    with quick_commit(), connection.cursor() as cursor:
        yield cursor


@contextmanager
def quick_commit(applier: bool = False) -> Iterator[None]:
    """One transaction of the events' tables that commits without waiting for the disk, under
    the events' writer lock (the receiving path's inserts, the applier's batches).

    Safe for both: a commit lost to a power cut loses received events (the registry's own queue
    is less durable) or an applied batch, whose events were claimed in the same transaction and
    so are applied again. SQLite's ``synchronous`` cannot change inside a transaction: it is set
    on the connection around this one. Inside a caller's transaction (tests) nothing changes.

    A receiver (``applier=False``) says it waits for the lock or holds it (``_receiving``), so
    that the applier lets it in between two of its transactions (``make_way``)."""
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    if connection.vendor == "sqlite":
        with _receiving(not applier), writer_lock(), connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            previous = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA synchronous=NORMAL")
            try:
                with transaction.atomic():
                    yield
            finally:
                cursor.execute(f"PRAGMA synchronous={previous}")
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")  # this transaction only
        yield


# SQLite has one writer at a time, and a writer that finds the database locked sleeps in steps
# of 1, 2, 5, 10 ms and more before it tries again (its busy handler): with 8 senders and the
# applier those sleeps, not the writes, set the pace. The events' writers (this path's inserts,
# the applier's batches) queue on a lock instead, which wakes the next one at once: within the
# process (threads) and across processes (a lock file beside the database).
_writer = threading.Lock()
_lock_files: dict[str, int] = {}


@contextmanager
def writer_lock() -> Iterator[None]:
    """Held around a write of the events' tables on SQLite (nothing on other databases)."""
    with _file_lock("events-lock", _writer):
        yield


_applier = threading.Lock()

# The receivers' priority: each holds a shared lock on this file while it waits for the writer
# lock and while it writes; the applier, between two of its transactions, waits while one is held
# (at most MAKE_WAY seconds, so that it is never starved either).
MAKE_WAY = 0.05
_wanting = threading.local()


@contextmanager
def _receiving(receiver: bool) -> Iterator[None]:
    if not receiver or connection.vendor != "sqlite":
        yield
        return
    descriptor = _want_descriptor()
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


def _want_descriptor() -> int:
    """This thread's own descriptor of the want file (flock's locks belong to an open file: two
    threads sharing one would release each other's)."""
    path = f"{connection.settings_dict['NAME']}.events-want"
    opened: dict[str, int] = _wanting.__dict__.setdefault("files", {})
    if path not in opened:
        opened[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return opened[path]


def receivers_waiting() -> bool:
    """Whether a receiver waits for the events' writer lock or holds it (SQLite; False elsewhere)."""
    if connection.vendor != "sqlite":
        return False
    descriptor = _want_descriptor()
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return False


def make_way(most: float = MAKE_WAY) -> float:
    """The applier, between two of its transactions: wait while receivers wait for the writer
    lock or hold it, at most ``most`` seconds; how long it waited. The receivers have priority:
    the registry waits on each answer, and its queue lives in its memory."""
    began = time.monotonic()
    while receivers_waiting() and time.monotonic() - began < most:
        time.sleep(0.0005)
    return time.monotonic() - began


@contextmanager
def applier_lock() -> Iterator[None]:
    """Held by the one applier of events at a time on SQLite (``inventory.events``), which then
    reads and works out a batch before it takes the writer lock, keeping the web's inserts
    waiting only for its writes (on PostgreSQL the batch's row lock serialises appliers)."""
    with _file_lock("events-apply-lock", _applier):
        yield


@contextmanager
def _file_lock(suffix: str, local: threading.Lock) -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    path = f"{connection.settings_dict['NAME']}.{suffix}"
    with local:
        descriptor = _lock_files.get(path)
        if descriptor is None:
            descriptor = _lock_files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


_redis: dict[str, redis.Redis] = {}


def _wake_client() -> tuple[redis.Redis, Any]:
    """A Redis client kept by the process (Django's cache builds a client object per call, 1 ms of
    this path's CPU), and the cache's record of whether Redis answers."""
    location = str(settings.CACHES["default"]["LOCATION"])
    client = _redis.get(location)
    if client is None:
        client = _redis[location] = redis.Redis.from_url(location, socket_connect_timeout=1, socket_timeout=1)
    return client, state_for(location)


def wake_soon() -> None:
    """Have a worker apply what is pending, without the answer waiting for Redis: the process's
    waker thread runs ``wake`` after this call. Calls that come while it runs make one more run,
    whatever their number (one Redis round trip for a burst of envelopes, not one each). Safe:
    an envelope committed before this call is read by a task sent or queued after it."""
    global _waker_pid
    if not _wanted.is_set():  # set() takes a lock and notifies: not for every envelope of a burst
        _wanted.set()
    if _waker_pid != os.getpid():  # none yet in this process (or one left in the parent before a fork)
        with _waker_lock:
            if _waker_pid != os.getpid():
                threading.Thread(target=_wake_loop, name="inventory-wake", daemon=True).start()
                _waker_pid = os.getpid()


_wanted = threading.Event()
_waker_lock = threading.Lock()
_waker_pid: int | None = None


def _reset_in_child() -> None:
    """A forked child (a job's child process, jobs/child.py) takes the locks afresh: a thread of
    the parent may have held one at the fork, and a lock file's descriptor shares its flock with
    the parent's (the same open file description), so the child must open its own."""
    global _writer, _applier, _lock_files, _wanted, _waker_lock
    _writer, _applier, _wanted, _waker_lock = threading.Lock(), threading.Lock(), threading.Event(), threading.Lock()
    _lock_files = {}
    _redis.clear()


os.register_at_fork(after_in_child=_reset_in_child)


def _wake_loop() -> None:
    while True:
        _wanted.wait()
        _wanted.clear()  # before the SET: an envelope stored from now on makes another run
        wake()


def wake() -> None:
    """Send the apply task unless one is queued and not yet started.

    The task clears the key before it reads (``clear_wake``), so an envelope stored after its last
    read sets it again and sends another; with Redis down nothing is sent (no worker could take
    it) and the worker's periodic sweep applies them later. Never raises: the events are stored.
    Runs in the waker thread (``wake_soon``): Celery's first publish in a process connects to the
    broker, seconds on a loaded machine, and the registry waits on the answer."""
    client, state = _wake_client()
    if state.skipping:
        return
    try:
        if client.set(cache.make_key(WAKE_KEY), 1, nx=True, ex=WAKE_TTL):
            send(APPLY_EVENTS)
    except UNREACHABLE as e:
        state.failed(e)
    except Exception:  # the registry's answer must not fail for this: the sweep applies them
        logger.warning("Could not queue the events' apply task; the worker's sweep applies them.", exc_info=True)


def clear_wake() -> None:
    """The apply task has started: the next envelope stored sends another."""
    client, state = _wake_client()
    try:
        client.delete(cache.make_key(WAKE_KEY))
    except UNREACHABLE as e:
        state.failed(e)


def _keep_connection() -> None:
    """Keep this thread's SQLite connection for its next request instead of closing it at the end
    of this one (CONN_MAX_AGE=0 for SQLite, settings.py).

    Opening one costs its pragmas, and closing the last connection to a WAL database checkpoints
    and deletes the WAL, waiting for the disk twice: 10-15 ms of an answer that is otherwise under
    one. A web thread that received an event keeps its connection as PostgreSQL's do
    (CONN_MAX_AGE 60); it still closes it after an error (Django's ``close_old_connections``)."""
    if connection.vendor == "sqlite" and connection.connection is not None:
        connection.close_at = None


# --- The answer ----------------------------------------------------------------------------


def _token_given(request: HttpRequest) -> bool:
    token: str = settings.REGISTRY_EVENTS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return bool(token) and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode())


REFUSED_KEY = "inventory:events:refused:{}"  # per minute, for the health figures
REFUSED_SINCE_KEY = "inventory:events:refused-since"  # the first refusal not yet made a gap


def answer(request: HttpRequest) -> JsonResponse:
    """The whole of ``POST /api/v1/events/``: the token, the body, the insert; JSON either way.

    A refusal (anything but 200) is counted; one of a post that looks like the registry's (its
    events Content-Type) marks the start of an events gap, which the worker records."""
    response = _answer(request)
    if response.status_code != 200:
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        _refused(content_type in CONTENT_TYPES[:2])
    return response


def _refused(from_registry: bool) -> None:
    client, state = _wake_client()
    if state.skipping:
        return
    now = timezone.now()
    try:
        pipe = client.pipeline(transaction=False)
        key = cache.make_key(REFUSED_KEY.format(now.strftime("%Y%m%d%H%M")))
        pipe.incr(key)
        pipe.expire(key, 7200)
        if from_registry:
            pipe.set(cache.make_key(REFUSED_SINCE_KEY), now.isoformat(), nx=True, ex=86400)
        pipe.execute()
    except UNREACHABLE as e:
        state.failed(e)


def refused(minutes: int) -> int:
    """Posts refused in the last ``minutes`` minutes (0 while Redis does not answer)."""
    client, state = _wake_client()
    if state.skipping:
        return 0
    now = timezone.now()
    keys = [
        cache.make_key(REFUSED_KEY.format((now - timedelta(minutes=back)).strftime("%Y%m%d%H%M")))
        for back in range(minutes)
    ]
    try:
        return sum(int(value) for value in client.mget(keys) if value is not None)
    except UNREACHABLE as e:
        state.failed(e)
        return 0


def take_refused_since() -> datetime | None:
    """When the registry's posts began to be refused (and forget it: the worker records the gap)."""
    client, state = _wake_client()
    if state.skipping:
        return None
    try:
        value = client.getdel(cache.make_key(REFUSED_SINCE_KEY))
    except UNREACHABLE as e:
        state.failed(e)
        return None
    if not value:
        return None
    return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else str(value))


def _answer(request: HttpRequest) -> JsonResponse:
    try:
        received = _received(request)
    except EventsRefused as e:
        return JsonResponse(e.body(request), status=e.status, headers=e.headers)
    return JsonResponse({"stored": received.stored, "duplicates": received.duplicates, "ignored": received.ignored})


def _received(request: HttpRequest) -> Received:
    if not _token_given(request):
        throttle = AnonAddressThrottle()  # a wrong or missing token counts against its address
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            wait = throttle.wait()
            headers = {"Retry-After": str(math.ceil(wait))} if wait is not None else None
            raise EventsRefused(str(Throttled(wait).detail), status=429, headers=headers)
        if not settings.REGISTRY_EVENTS_TOKEN:
            raise EventsRefused("Events are off: set REGISTRY_EVENTS_TOKEN (see the Registry page).", status=401)
        raise EventsRefused(
            "Send Authorization: Bearer <REGISTRY_EVENTS_TOKEN>.", status=401, headers={"WWW-Authenticate": "Bearer"}
        )
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise EventsRefused(f"Expected Content-Type {' or '.join(CONTENT_TYPES[:2])}.", status=415)
    try:
        document = parsers.loads(request.body)
    except parsers.JsonTooDeep as e:
        raise EventsRefused(str(e)) from e
    except RequestDataTooBig as e:
        raise EventsRefused(
            "The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE: lower the endpoint's batch.", status=413
        ) from e
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise EventsRefused("The body is not JSON.") from e
    try:
        received = receive(document)
    except EventsRefused:  # MalformedEvents
        raise
    except Exception as e:
        message = service_fault(e)
        if message is None:
            raise
        logger.warning("POST %s answered 503: %s (%s)", PATH, message, e)
        raise EventsRefused(message, status=503) from e
    _keep_connection()
    return received

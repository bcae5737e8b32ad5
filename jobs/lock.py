"""The one-GC-at-a-time lock in the broker's Redis (REDIS_URL), shared by web and workers.

Queueing takes a short lock (``ENQUEUE_LOCK_KEY``) so two requests cannot both pass the
conflict check; a run holds ``LOCK_KEY`` while it lasts, extended by ``LockHeartbeat`` so
that it expires soon after its worker dies, and the watchdog can then step in.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import redis
import redis.lock
from django.conf import settings

logger = logging.getLogger(__name__)

LOCK_KEY = "registry-admin:gc:lock"
ENQUEUE_LOCK_KEY = "registry-admin:gc:enqueue"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def gc_lock(client: redis.Redis) -> redis.lock.Lock:
    """The one-GC-at-a-time lock. Not thread-local: a heartbeat thread extends it."""
    lock: redis.lock.Lock = client.lock(LOCK_KEY, timeout=settings.GC_LOCK_TIMEOUT, thread_local=False)
    return lock


@contextlib.contextmanager
def enqueue_lock(client: redis.Redis) -> Iterator[None]:
    """Held for the moment a request checks for a conflict and queues its job (LockError when
    another request holds it for over 10 s)."""
    held = client.lock(ENQUEUE_LOCK_KEY, timeout=30, blocking_timeout=10)
    if not held.acquire():
        raise redis.exceptions.LockError("Unable to acquire the enqueue lock")
    try:
        yield
    finally:
        # The block can outlast the lock (a busy database waits out its 20 s timeout): what went
        # wrong in it is the error to report, not the release of an expired lock.
        with contextlib.suppress(redis.exceptions.LockNotOwnedError):
            held.release()


@contextlib.contextmanager
def holding_gc_lock(wait: float) -> Iterator[bool]:
    """Hold the GC lock for the block, extended by a heartbeat; False (and nothing held) when
    another run still holds it after ``wait`` seconds."""
    client = redis_client()
    try:
        held = gc_lock(client)
        if not held.acquire(blocking=True, blocking_timeout=wait):
            yield False
            return
        try:
            with LockHeartbeat(held):
                yield True
        finally:
            with contextlib.suppress(redis.exceptions.LockError):
                held.release()
    finally:
        client.close()


def gc_lock_held(client: redis.Redis | None = None) -> bool:
    """Whether a GC run (or the watchdog) holds the lock now."""
    own = client is None
    client = client or redis_client()
    try:
        return bool(client.exists(LOCK_KEY))
    finally:
        if own:
            client.close()


class LockHeartbeat:
    """Extends the GC lock while the run lasts, so it expires soon after a worker dies."""

    #: The heartbeats running, by the thread that holds their lock (``abandon``).
    _running: dict[int, set[LockHeartbeat]] = {}
    _running_lock = threading.Lock()

    def __init__(self, lock: redis.lock.Lock) -> None:
        self.lock = lock
        self._owner = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="gc-lock-heartbeat", daemon=True)

    def __enter__(self) -> LockHeartbeat:
        with self._running_lock:
            self._running.setdefault(self._owner, set()).add(self)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with self._running_lock:
            self._running.get(self._owner, set()).discard(self)
        self._thread.join(5)

    @classmethod
    def abandon(cls, thread_id: int) -> int:
        """Stop extending the locks the thread ``thread_id`` holds, as if its process had died:
        they expire within GC_LOCK_TIMEOUT (a task past its hard time limit in a thread pool,
        ``jobs.time_limits``). The number of heartbeats stopped."""
        with cls._running_lock:
            stopped = cls._running.pop(thread_id, set())
        for heartbeat in stopped:
            heartbeat._stop.set()
        return len(stopped)

    def _beat(self) -> None:
        interval = max(1.0, settings.GC_LOCK_TIMEOUT / 3)
        while not self._stop.wait(interval):
            try:
                self.lock.reacquire()
            except Exception:  # a lost lock is reported by release(); keep the GC going
                logger.exception("could not extend the GC lock")

"""The cache degrades to no cache while Redis is unreachable.

Redis is the dashboard's cache and Celery's broker, not its source of truth: every cached
value can be fetched again from the registry or the database. So when Redis does not
answer, reads miss and writes are dropped instead of raising, and for ``RETRY_SECONDS``
after a failure the cache is not even tried, so a dead Redis costs a page milliseconds, not
a connect timeout per lookup. ``problem()`` says what is wrong, for the banner on every page
and the ``"warnings"`` of API answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from core.masking import mask_url

logger = logging.getLogger(__name__)

# After a failure the cache is skipped this long before Redis is tried again.
RETRY_SECONDS = 5.0
# Errors that mean "Redis is not there", as opposed to a bug in our use of it.
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

T = TypeVar("T")


class _State:
    """What this process last learnt about Redis (shared by every thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.error = ""
        self.last_ok = 0.0

    def failed(self, error: BaseException) -> None:
        with self.lock:
            first = not self.error
            self.down_until = time.monotonic() + RETRY_SECONDS
            self.error = str(error) or type(error).__name__
        if first:
            logger.warning("Redis unreachable, the cache is off until it answers: %s", self.error)

    def succeeded(self) -> None:
        self.last_ok = time.monotonic()
        if self.error:
            logger.warning("Redis answers again, the cache is back on")
            with self.lock:
                self.down_until = 0.0
                self.error = ""

    @property
    def skipping(self) -> bool:
        return time.monotonic() < self.down_until


_states: dict[str, _State] = {}
_states_lock = threading.Lock()


def state_for(location: str) -> _State:
    """One state per Redis location (the tests point the cache at private ones)."""
    with _states_lock:
        return _states.setdefault(location, _State())


def redis_location() -> str:
    """REDIS_URL without its password, for messages."""
    return mask_url(str(settings.REDIS_URL))


def unreachable_message(error: str) -> str:
    return (
        f"Redis at {redis_location()} does not answer ({error}), so jobs cannot be queued and nothing is "
        "cached: start redis-server or correct REDIS_URL. Pages are served from the database and the registry."
    )


def problem() -> str | None:
    """Why Redis is unusable right now, or None when it answers.

    Known from the cache's own calls; when the cache has not been used for a few seconds,
    one PING (with the cache's short timeouts) finds out.
    """
    from django.core.cache import caches

    backend = caches["default"]
    if not isinstance(backend, DegradingRedisCache):
        return None
    state = backend.state
    if not state.skipping and time.monotonic() - state.last_ok > RETRY_SECONDS:
        backend.ping()
    return unreachable_message(state.error) if state.error else None


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client of the Redis cache with one ``redis.Redis`` per connection pool, where
    Django builds a new one for every operation: two for each API request (the throttle reads
    and writes its history), each with its event dispatcher and listeners, which hold each other
    and so live until the garbage collector's next full collection (issue 26: the web's full
    collections held the GIL hundreds of milliseconds under load). The cache object, and so this
    client, is per thread (Django's cache handler); a ``redis.Redis`` is thread-safe anyway."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # Django's, not in its stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = super().get_client(key, write=write)
        return client


class DegradingRedisCache(RedisCache):
    """Django's Redis cache that answers "not cached" while Redis is unreachable."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self.state = state_for(str(server))

    def _guard(self, call: Callable[[], T], fallback: T) -> T:
        if self.state.skipping:
            return fallback
        try:
            result = call()
        except UNREACHABLE as e:
            self.state.failed(e)
            return fallback
        self.state.succeeded()
        return result

    def ping(self) -> bool:
        return self._guard(lambda: bool(self._cache.get_client().ping()), False)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        # False: "someone else holds it", so a refresh lock is not taken while Redis is away.
        return self._guard(lambda: super(DegradingRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(DegradingRedisCache, self).get(key, default, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guard(lambda: super(DegradingRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guard(lambda: super(DegradingRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(DegradingRedisCache, self).delete(key, version), False)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard(lambda: super(DegradingRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(DegradingRedisCache, self).has_key(key, version), False)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        sentinel = object()
        result = self._guard(lambda: super(DegradingRedisCache, self).incr(key, delta, version), sentinel)
        if result is sentinel:
            # As for a key that does not exist: callers then set it (which is dropped too).
            raise ValueError(f"Key '{key}' not found (Redis unreachable)")
        return result  # type: ignore[return-value]

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._guard(lambda: super(DegradingRedisCache, self).set_many(data, timeout, version), list(data))

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(lambda: super(DegradingRedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        self._guard(lambda: super(DegradingRedisCache, self).clear(), None)

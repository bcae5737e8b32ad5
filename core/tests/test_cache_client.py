"""The Redis cache builds one ``redis.Redis`` per connection pool, not one per operation
(``core.cache.ReusingRedisCacheClient``; issue 26: the throttle's two per API request each left
cyclic garbage for the web's full collections)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.test import Client


def built_clients(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    built: list[object] = []
    original = redis.Redis.__init__

    def counting(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    return built


def test_cache_operations_share_one_redis_client(monkeypatch: pytest.MonkeyPatch) -> None:
    cache.set("warm", 1)  # this thread's pool and client exist
    built = built_clients(monkeypatch)
    for n in range(20):
        cache.set(f"key-{n}", n, 60)
        assert cache.get(f"key-{n}") == n
    assert cache.add("added-once", 1, 60) and not cache.add("added-once", 2, 60)
    assert built == []


@pytest.mark.django_db
def test_api_requests_build_no_redis_client(viewer_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """An API request (throttled: its history read and written in Redis) builds no client."""
    assert viewer_client.get("/api/v1/repositories/").status_code == 200
    built = built_clients(monkeypatch)
    for _ in range(5):
        assert viewer_client.get("/api/v1/repositories/").status_code == 200
    assert built == []

"""The registry's own Redis blob-descriptor cache (not the dashboard's broker): the one client for it.

After a real garbage collection the registry's cache still lists the deleted blobs
(distribution#1803, #3743), so a re-push says "Layer already exists" and the pull then
fails. When the registry caches in Redis, the GC deletes its ``blobs::*`` and
``repository::*`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

PATTERNS = ("blobs::*", "repository::*")
BATCH = 500


class RegistryCacheError(Exception):
    """The registry's Redis cache cannot be cleared; the message says what to do by hand."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CacheServer:
    """Where the registry's configuration says its Redis cache is."""

    address: str
    host: str
    port: int
    db: int
    password: str | None


def configured_server(env: dict[str, str]) -> CacheServer | None:
    """The Redis server of a registry configured (by REGISTRY_* variables) to cache in Redis; None otherwise.

    A cache configured only in the config file is not seen here.
    """
    if env.get("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "").strip() != "redis":
        return None
    address = env.get("REGISTRY_REDIS_ADDR") or env.get("REGISTRY_REDIS_ADDRS", "").strip("[]").split(",")[0]
    host, _, port = address.strip().strip("'\"").rpartition(":")
    if not host:
        raise RegistryCacheError(
            "REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR=redis but REGISTRY_REDIS_ADDR is missing: cannot clear the cache."
        )
    return CacheServer(
        address=address,
        host=host,
        port=int(port or 6379),
        db=int(env.get("REGISTRY_REDIS_DB") or 0),
        password=env.get("REGISTRY_REDIS_PASSWORD") or None,
    )


def flush(server: CacheServer, hosts: list[str]) -> int:
    """Delete the cache's keys, trying each of ``hosts`` for the server; the number deleted."""
    last_error: Exception | None = None
    for host in hosts:
        client = redis.Redis(
            host=host,
            port=server.port,
            db=server.db,
            password=server.password,
            socket_connect_timeout=3,
            socket_timeout=10,
        )
        try:
            deleted = 0
            for pattern in PATTERNS:
                batch: list[bytes] = []
                for key in client.scan_iter(pattern, count=1000):
                    batch.append(key)
                    if len(batch) >= BATCH:
                        deleted += int(client.delete(*batch))
                        batch = []
                if batch:
                    deleted += int(client.delete(*batch))
            return deleted
        except (redis.exceptions.RedisError, OSError) as e:
            last_error = e
        finally:
            client.close()
    raise RegistryCacheError(
        f"Could not clear the registry's Redis cache at {server.address} ({last_error}). Delete its keys by hand "
        "(redis-cli --scan --pattern 'blobs::*' | xargs redis-cli del, same for 'repository::*') "
        "before pushing again, or restart that Redis."
    )

"""The registry's own Redis blob-descriptor cache (not the dashboard's broker): the one client for it.

After a real garbage collection the registry's cache still lists the deleted blobs
(distribution#1803, #3743), so a re-push says "Layer already exists" and the pull then
fails. When the registry caches in Redis, the GC deletes its ``blobs::*`` and
``repository::*`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from core.errors import ActionableError

PATTERNS = ("blobs::*", "repository::*")
BATCH = 500


class RegistryCacheError(ActionableError):
    """The registry's Redis cache cannot be cleared; the message says what to do by hand."""


@dataclass(frozen=True)
class CacheServer:
    """Where the registry's configuration says its Redis cache is."""

    address: str
    host: str
    port: int
    db: int
    password: str | None


def _settings_read_by(env: dict[str, str], v3: bool | None) -> tuple[str, str, str]:
    """(address, db, password) of the registry's Redis as the running version reads them.

    Distribution 3 reads ``redis.options.*`` (``REGISTRY_REDIS_OPTIONS_ADDRS=[host:6379]``,
    ``..._OPTIONS_DB``, ``..._OPTIONS_PASSWORD``) and ignores the 2.x ``REGISTRY_REDIS_ADDR``/
    ``_DB``/``_PASSWORD`` that docker-compose.yml sets beside them (distribution#4486); 2.x
    reads only those. ``v3`` None (version unknown): whichever is set, v3's first.
    """
    v3_addrs = env.get("REGISTRY_REDIS_OPTIONS_ADDRS", "").strip().strip("[]").split(",")[0]
    v3_values = (v3_addrs, env.get("REGISTRY_REDIS_OPTIONS_DB", ""), env.get("REGISTRY_REDIS_OPTIONS_PASSWORD", ""))
    v2_addr = env.get("REGISTRY_REDIS_ADDR") or env.get("REGISTRY_REDIS_ADDRS", "").strip("[]").split(",")[0]
    v2_values = (v2_addr, env.get("REGISTRY_REDIS_DB", ""), env.get("REGISTRY_REDIS_PASSWORD", ""))
    if v3 is True:
        return v3_values
    if v3 is False:
        return v2_values
    return v3_values if v3_addrs.strip() else v2_values


def configured_server(env: dict[str, str], v3: bool | None = None) -> CacheServer | None:
    """The Redis server of a registry configured (by REGISTRY_* variables) to cache in Redis; None otherwise.

    ``v3`` says which version's variables the registry reads (None: unknown). A cache
    configured only in the config file is not seen here.
    """
    if env.get("REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR", "").strip() != "redis":
        return None
    address, db, password = _settings_read_by(env, v3)
    host, _, port = address.strip().strip("'\"").rpartition(":")
    if not host:
        variable = "REGISTRY_REDIS_OPTIONS_ADDRS" if v3 else "REGISTRY_REDIS_ADDR"
        raise RegistryCacheError(
            f"REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR=redis but {variable} is missing: cannot clear the cache."
        )
    return CacheServer(address=address, host=host, port=int(port or 6379), db=int(db or 0), password=password or None)


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

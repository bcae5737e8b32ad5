"""Real, private services for tests: redis-server, dockerd, and registry containers.

Each session gets its own work dir (short, under /tmp), its own ports from the OS, its
own dockerd socket, data root and exec root (so its own containerd), which is what lets
several test sessions run at once on one shared machine. Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import requests
from docker.types import LogConfig

from testenv import _sys
from testenv.errors import ServiceUnavailable
from testenv.postgres import PostgresService, start_postgres
from testenv.registry_image import (
    CONFIG_PATH,
    DATA_PATH,
    V2_IMAGE,
    V3_IMAGE,
    build_registry_image,
    v3_binary_problem,
)

__all__ = [
    "DockerEngine",
    "RedisService",
    "RegistryService",
    "ServiceUnavailable",
    "Services",
    "start_all",
    "start_dockerd",
    "start_redis",
    "start_registry",
    "stop_all",
]

#: The client that matches dockerd 20.10; /usr/local/bin/docker is a newer client that
#: comes first on PATH and is not what we test against.
DOCKER_CLI = "/usr/bin/docker"
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _find_binary(name: str, service: str) -> str:
    path = shutil.which(name, path=_SBIN_PATH)
    if path is None:
        raise ServiceUnavailable(service, f"binary {name!r} not found on {_SBIN_PATH}")
    return path


def _stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL the whole process group after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


# --------------------------------------------------------------------------- redis


@dataclass
class RedisService:
    """A private ``redis-server`` on 127.0.0.1 without persistence."""

    port: int
    workdir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _stop_process(self.process, timeout=5)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(workdir: Path | str, timeout: float = 15.0) -> RedisService:
    """Start redis-server on a free loopback port; retry if the port was taken meanwhile."""
    binary = _find_binary("redis-server", "redis")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "redis.log"
    last = ""
    for _attempt in range(3):
        port = _sys.free_port()
        proc = _sys.spawn(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
                "--unixsocket",
                "",
                "--logfile",
                "",
            ],
            log_path,
            death_signal=signal.SIGKILL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _redis_ping(port):
                return RedisService(port=port, workdir=workdir, log_path=log_path, process=proc)
            time.sleep(0.05)
        _stop_process(proc, timeout=2)
        last = _sys.tail(log_path)
        if "Address already in use" not in last:
            break
    raise ServiceUnavailable("redis", f"did not answer PING within {timeout}s; log:\n{last}")


# --------------------------------------------------------------------------- dockerd


@dataclass
class DockerEngine:
    """A private dockerd (vfs, no bridge/iptables) with its own containerd."""

    workdir: Path
    socket_path: Path
    data_root: Path
    exec_root: Path
    pidfile: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    _client: docker.DockerClient | None = field(default=None, repr=False)
    cleanup_notes: list[str] = field(default_factory=list, repr=False)
    #: The registry images built in this engine, by major version (see ``start_all``).
    registry_images: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def default_registry_image(self) -> str:
        """The primary registry image: v3 when it was built, else 2.8."""
        return self.registry_images.get(3) or self.registry_images.get(2) or V3_IMAGE

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    def client(self) -> docker.DockerClient:
        """A docker-py client bound to this engine (cached)."""
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.host, timeout=120)
        return self._client

    def cli(
        self, *args: str, check: bool = True, timeout: float = 300, input_bytes: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``/usr/bin/docker -H <this engine> ARGS`` with a private client config.

        ``DOCKER_CONFIG`` points into the work dir so ``docker login`` in one session
        never writes credentials another session (or the user) would pick up.
        """
        env = dict(os.environ, DOCKER_CONFIG=str(self.workdir / "docker-cli"), DOCKER_HOST=self.host)
        env.pop("DOCKER_CONTEXT", None)
        return subprocess.run(
            [DOCKER_CLI, "-H", self.host, *args],
            env=env,
            check=check,
            timeout=timeout,
            capture_output=True,
            text=input_bytes is None,
            input=input_bytes,
        )

    def stop(self) -> None:
        """Remove all containers, stop dockerd, kill stragglers, unmount, delete dirs.

        Containers are force-removed first: a graceful dockerd shutdown otherwise waits
        up to 10s per container (PID 1 in a container ignores SIGTERM without a handler).
        """
        ours = _sys.processes_mentioning([str(self.exec_root), str(self.data_root)])
        try:
            client = self.client()
            for container in client.containers.list(all=True):
                with contextlib.suppress(docker.errors.APIError):
                    container.remove(force=True)
        except Exception as exc:
            self.cleanup_notes.append(f"container removal skipped: {exc}")
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None
        _stop_process(self.process, timeout=15)
        # containerd and the shims are not in dockerd's process group (containerd runs in
        # its own session, shims setsid and reparent to PID 1); find them by our paths.
        leftovers = _sys.processes_mentioning([str(self.exec_root), str(self.data_root)])
        _sys.kill_pids(leftovers)
        _sys.wait_gone(leftovers, timeout=5)
        _sys.wait_reaped(ours | leftovers, timeout=5)
        stuck = _sys.unmount_all(self.workdir)
        if stuck:
            raise RuntimeError(f"could not unmount: {stuck}")
        for path in (self.data_root, self.exec_root, self.socket_path, self.pidfile):
            if path.is_dir():
                _sys.remove_tree(path)
            else:
                path.unlink(missing_ok=True)


def _ping(sock_path: Path) -> bool:
    """GET /_ping over the unix socket without pulling in docker-py's retries."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(str(sock_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b"200 OK" in sock.recv(256)
    except OSError:
        return False


def start_dockerd(workdir: Path | str, timeout: float = 60.0) -> DockerEngine:
    """Start a private dockerd and wait until it answers ``/_ping``."""
    binary = _find_binary("dockerd", "dockerd")
    _find_binary("containerd", "dockerd")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data_root, exec_root = workdir / "dd", workdir / "de"
    sock, pidfile, log_path = workdir / "d.sock", workdir / "d.pid", workdir / "dockerd.log"
    if len(str(exec_root)) > 40:
        raise ServiceUnavailable("dockerd", f"work dir {workdir} too long for unix sockets")
    config_file = workdir / "daemon.json"
    config_file.write_text("{}\n")  # never read the host's /etc/docker/daemon.json
    argv = [
        binary,
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--storage-driver=vfs",
        "--data-root",
        str(data_root),
        "--exec-root",
        str(exec_root),
        "-H",
        f"unix://{sock}",
        "--pidfile",
        str(pidfile),
        "--config-file",
        str(config_file),
        "--userland-proxy=false",
        "--log-level=warn",
    ]
    env = dict(os.environ, PATH=_SBIN_PATH)
    proc = _sys.spawn(argv, log_path, env=env)
    engine = DockerEngine(
        workdir=workdir,
        socket_path=sock,
        data_root=data_root,
        exec_root=exec_root,
        pidfile=pidfile,
        log_path=log_path,
        process=proc,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _ping(sock):
            return engine
        time.sleep(0.1)
    log = _sys.tail(log_path)
    engine.stop()
    raise ServiceUnavailable("dockerd", f"no answer on /_ping within {timeout}s (exit={proc.poll()}); log:\n{log}")


# --------------------------------------------------------------------------- registry


@dataclass
class RegistryService:
    """A registry container on the host network of a private engine."""

    engine: DockerEngine
    container_name: str
    port: int
    data_dir: Path
    image: str
    env: dict[str, str]

    @property
    def major(self) -> int:
        """2 for the Debian 2.8.2 image, 3 for the v3.1.1 one."""
        return 2 if self.image == V2_IMAGE else 3

    @property
    def version(self) -> str:
        """``v3`` or ``v2``: the id the version-parametrised fixtures use."""
        return f"v{self.major}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> str:
        """``127.0.0.1:PORT``, the prefix for image references pushed with docker."""
        return f"127.0.0.1:{self.port}"

    @property
    def container(self) -> Any:
        return self.engine.client().containers.get(self.container_name)

    def exec(self, *cmd: str) -> tuple[int, str]:
        """Run a command in the container; return (exit code, combined output)."""
        code, output = self.container.exec_run(list(cmd))
        return int(code), output.decode(errors="replace")

    def garbage_collect(self, *flags: str) -> tuple[int, str]:
        """``registry garbage-collect FLAGS /etc/distribution/config.yml`` in the container."""
        return self.exec("registry", "garbage-collect", *flags, CONFIG_PATH)

    def restart(self, timeout: float = 30.0) -> None:
        """Restart and wait; the remedy for the stale blob cache after GC (distribution#1803)."""
        self.container.restart(timeout=2)
        _wait_registry(self, timeout)

    def logs(self, tail: int = 50) -> str:
        return self.container.logs(tail=tail).decode(errors="replace")

    def stop(self) -> None:
        self.container.stop(timeout=2)

    def remove(self) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.container.remove(force=True)


def _wait_registry(reg: RegistryService, timeout: float) -> None:
    """Wait for ``GET /v2/`` to answer 200 (or 401 behind auth)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{reg.url}/v2/", timeout=1).status_code in (200, 401):
                return
        except requests.RequestException:
            pass
        attrs = reg.container.attrs
        if attrs["RestartCount"] > 0 or attrs["State"]["Status"] in ("exited", "dead"):
            break
        time.sleep(0.1)
    raise ServiceUnavailable(
        f"registry {reg.container_name}",
        f"GET {reg.url}/v2/ did not answer within {timeout}s; logs:\n{reg.logs(30)}",
    )


def _materialise_files(base: Path, files: Mapping[str, bytes | str | Path]) -> dict[str, dict[str, str]]:
    """Turn {container path: host path or bytes} into read-only bind mounts."""
    volumes: dict[str, dict[str, str]] = {}
    for index, (target, source) in enumerate(files.items()):
        if isinstance(source, bytes):
            host = base / f"file{index}-{Path(target).name}"
            host.parent.mkdir(parents=True, exist_ok=True)
            host.write_bytes(source)
        else:
            host = Path(source)
        volumes[str(host.resolve())] = {"bind": target, "mode": "ro"}
    return volumes


def start_registry(
    engine: DockerEngine,
    name: str = "registry",
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    data_dir: Path | str | None = None,
    files: Mapping[str, bytes | str | Path] | None = None,
    image: str | None = None,
    delete_enabled: bool = True,
    mem_limit: str = "1g",
    timeout: float = 30.0,
) -> RegistryService:
    """Run a registry container like the installation guide's production ``docker run`` and wait for it.

    ``env`` is merged over the defaults (so ``REGISTRY_STORAGE_DELETE_ENABLED=false`` or
    the ``REGISTRY_AUTH*`` variables go there); ``files`` maps container paths to host
    paths or contents, bind-mounted read-only (htpasswd files, token CA bundles).
    The data root is bind-mounted from ``data_dir`` so tests can inspect and ``du`` it.
    ``image`` defaults to the engine's primary registry image (v3.1.1 when it was built).
    """
    image = image or engine.default_registry_image
    data = Path(data_dir) if data_dir is not None else engine.workdir / f"reg-{name}" / "data"
    data.mkdir(parents=True, exist_ok=True)
    volumes = {str(data.resolve()): {"bind": DATA_PATH, "mode": "rw"}}
    volumes.update(_materialise_files(engine.workdir / f"reg-{name}" / "files", files or {}))
    attempts = 1 if port is not None else 3
    last_error: ServiceUnavailable | None = None
    for _attempt in range(attempts):
        chosen = port if port is not None else _sys.free_port()
        full_env = {
            "REGISTRY_HTTP_ADDR": f"127.0.0.1:{chosen}",
            "REGISTRY_HTTP_SECRET": f"testenv-{name}-{chosen}",
            "REGISTRY_STORAGE_DELETE_ENABLED": "true" if delete_enabled else "false",
            **(env or {}),
        }
        engine.client().containers.run(
            image,
            detach=True,
            name=name,
            network_mode="host",
            environment=full_env,
            volumes=volumes,
            restart_policy={"Name": "always"},
            mem_limit=mem_limit,
            log_config=LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
        )
        reg = RegistryService(engine=engine, container_name=name, port=chosen, data_dir=data, image=image, env=full_env)
        try:
            _wait_registry(reg, timeout)
            return reg
        except ServiceUnavailable as exc:
            last_error = exc
            reg.remove()
            if "address already in use" not in exc.reason:
                break
    assert last_error is not None
    raise last_error


# --------------------------------------------------------------------------- all


@dataclass
class Services:
    """Everything a test session needs; the fields the Django settings read via env."""

    redis_url: str
    docker_host: str
    registry_url: str
    registry_container: str
    registry_config_path: str
    registry_data_dir: Path
    registry_image: str
    engine: DockerEngine
    workdir: Path
    redis: RedisService
    registry: RegistryService
    timings: dict[str, float] = field(default_factory=dict)
    owns_workdir: bool = True
    #: The second registry, Debian's 2.8.2 (the primary one is v3.1.1 when its binary exists).
    registry_v2: RegistryService | None = None
    #: Why there is no v3 registry (no binary at REGISTRY_V3_BINARY), or None when it runs.
    v3_missing: str | None = None
    #: The private PostgreSQL, when the session asked for it (``TESTENV_DATABASE=postgres``).
    postgres: PostgresService | None = None

    @property
    def registry_v3(self) -> RegistryService | None:
        return self.registry if self.registry.major == 3 else None

    def registries(self) -> dict[str, RegistryService]:
        """The session's registries by version id (``v3``, ``v2``)."""
        found = {"v3": self.registry_v3, "v2": self.registry_v2}
        return {key: reg for key, reg in found.items() if reg is not None}

    def environ(self) -> dict[str, str]:
        """The variables the dashboard's settings read, for ``os.environ.update``."""
        return {
            "REDIS_URL": self.redis_url,
            "REGISTRY_URL": self.registry_url,
            "DOCKER_HOST": self.docker_host,
            "REGISTRY_CONTAINER": self.registry_container,
            "REGISTRY_CONFIG_PATH": self.registry_config_path,
            "TESTENV_REGISTRY_DATA_DIR": str(self.registry_data_dir),
            **({"TESTENV_REGISTRY_V2_URL": self.registry_v2.url} if self.registry_v2 else {}),
            **({"DATABASE_URL": self.postgres.url} if self.postgres else {}),
        }


def wanted_database() -> str:
    """``sqlite`` (the default) or ``postgres``, from ``TESTENV_DATABASE``."""
    value = os.environ.get("TESTENV_DATABASE", "").strip().lower() or "sqlite"
    if value in ("postgres", "postgresql"):
        return "postgres"
    if value != "sqlite":
        raise ServiceUnavailable("database", f"TESTENV_DATABASE={value!r}: use sqlite or postgres")
    return "sqlite"


def start_all(workdir: Path | str | None = None, database: str | None = None) -> Services:
    """Start redis, dockerd, build both registry images and run the two registries.

    The primary registry (container ``registry``, REGISTRY_URL) is Distribution v3.1.1 from
    ``REGISTRY_V3_BINARY``; Debian's 2.8.2 runs beside it as ``registry-v2``. Without the v3
    binary the 2.8 registry is the primary one and ``Services.v3_missing`` says why.
    ``database`` ``postgres`` (default: ``TESTENV_DATABASE``) also starts a private PostgreSQL
    and exports its ``DATABASE_URL``. On any failure, whatever already started is stopped again
    before re-raising.
    """
    database = database or wanted_database()
    owns = workdir is None
    _sys.sweep_stale_workdirs()
    root = _sys.make_workdir() if workdir is None else Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    redis_svc: RedisService | None = None
    engine: DockerEngine | None = None
    postgres: PostgresService | None = None
    try:
        started = time.monotonic()
        redis_svc = start_redis(root)
        timings["redis"] = time.monotonic() - started
        mark = time.monotonic()
        engine = start_dockerd(root)
        timings["dockerd"] = time.monotonic() - mark
        mark = time.monotonic()
        v3_missing = v3_binary_problem()
        if v3_missing is None:
            build_registry_image(engine, V3_IMAGE, major=3)
            engine.registry_images[3] = V3_IMAGE
        build_registry_image(engine, V2_IMAGE, major=2)
        engine.registry_images[2] = V2_IMAGE
        timings["image"] = time.monotonic() - mark
        mark = time.monotonic()
        primary = engine.default_registry_image
        registry = start_registry(engine, "registry", image=primary)
        registry_v2 = registry if primary == V2_IMAGE else start_registry(engine, "registry-v2", image=V2_IMAGE)
        timings["registry"] = time.monotonic() - mark
        if database == "postgres":
            mark = time.monotonic()
            postgres = start_postgres(root)
            timings["postgres"] = time.monotonic() - mark
        timings["total"] = time.monotonic() - started
    except BaseException:
        if postgres is not None:
            postgres.stop()
        if engine is not None:
            engine.stop()
        if redis_svc is not None:
            redis_svc.stop()
        if owns:
            _sys.unmount_all(root)
            _sys.remove_tree(root)
        raise
    return Services(
        redis_url=redis_svc.url,
        docker_host=engine.host,
        registry_url=registry.url,
        registry_container=registry.container_name,
        registry_config_path=CONFIG_PATH,
        registry_data_dir=registry.data_dir,
        registry_image=primary,
        engine=engine,
        workdir=root,
        redis=redis_svc,
        registry=registry,
        timings=timings,
        owns_workdir=owns,
        registry_v2=registry_v2,
        v3_missing=v3_missing,
        postgres=postgres,
    )


def stop_all(services: Services) -> None:
    """Stop everything ``start_all`` started; safe to call twice."""
    try:
        if services.postgres is not None:
            services.postgres.stop()
        services.engine.stop()
    finally:
        services.redis.stop()
        if services.owns_workdir:
            _sys.unmount_all(services.workdir)
            _sys.remove_tree(services.workdir)

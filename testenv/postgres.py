"""A private PostgreSQL server for the tests that run on PostgreSQL as well as SQLite.

Debian's ``postgresql`` package (``initdb``, ``postgres`` in ``/usr/lib/postgresql/<N>/bin``),
its own data directory and unix socket under the session's work dir, its own loopback port,
password authentication with a random password, and no durability (``fsync=off``): a test
database, not a store. PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` system user the package creates (``TESTENV_POSTGRES_USER`` names another one).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from testenv import _sys
from testenv.errors import ServiceUnavailable

POSTGRES_ROOT = Path("/usr/lib/postgresql")
DB_USER = "registry_admin"
DB_NAME = "registry_admin"


def postgres_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<N>/bin`` holding initdb and postgres."""
    found = []
    for candidate in POSTGRES_ROOT.glob("*/bin"):
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            version = re.match(r"\d+", candidate.parent.name)
            found.append((int(version.group()) if version else 0, candidate))
    if not found:
        raise ServiceUnavailable(
            "postgres", f"no initdb/postgres under {POSTGRES_ROOT}/*/bin (apt-get install postgresql)"
        )
    return max(found)[1]


def _run_as() -> pwd.struct_passwd | None:
    """The account the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("TESTENV_POSTGRES_USER", "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError as exc:
        raise ServiceUnavailable(
            "postgres", f"PostgreSQL refuses to run as root and there is no user {name!r} to run it as"
        ) from exc


@dataclass
class PostgresService:
    """A running private ``postgres``; ``url`` is what ``DATABASE_URL`` takes."""

    port: int
    password: str
    workdir: Path
    data_dir: Path
    socket_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"postgres://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{DB_NAME}"

    def stop(self) -> None:
        """Fast shutdown (SIGINT: abort open transactions), then SIGKILL the group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        _sys.remove_tree(self.data_dir.parent)


def _chown_tree(path: Path, account: pwd.struct_passwd | None) -> None:
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _ready(bin_dir: Path, port: int, socket_dir: Path) -> bool:
    """``pg_isready`` over the unix socket (the TCP port alone may answer before start-up ends)."""
    result = subprocess.run(
        [str(bin_dir / "pg_isready"), "-q", "-h", str(socket_dir), "-p", str(port), "-d", "postgres"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return result.returncode == 0 and _accepts(port)


def start_postgres(workdir: Path | str, timeout: float = 60.0) -> PostgresService:
    """initdb a fresh cluster under ``workdir/pg`` and start it on a free loopback port."""
    bin_dir = postgres_bin_dir()
    account = _run_as()
    workdir = Path(workdir)
    if account is not None:
        # The server's user must reach its directory inside our private (0700) work dir.
        workdir.chmod(0o711)
    base = workdir / "pg"
    base.mkdir(mode=0o700, exist_ok=False)
    _chown_tree(base, account)
    data_dir, socket_dir, log_path = base / "data", base, workdir / "postgres.log"
    password = secrets.token_urlsafe(18)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    _chown_tree(pwfile, account)
    user_args = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if account else {}
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(base)}
    init = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            DB_USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(base),
        check=False,
        **user_args,  # type: ignore[arg-type]
    )
    pwfile.unlink()
    if init.returncode != 0:
        raise ServiceUnavailable("postgres", f"initdb failed ({init.returncode}): {init.stderr[-2000:]}")
    last = ""
    for _attempt in range(3):
        port = _sys.free_port()
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-k",
            str(socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=100",
        ]
        log_path.touch()
        _chown_tree(log_path, account)
        proc = _spawn_as(argv, log_path, env, base, user_args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _ready(bin_dir, port, socket_dir):
                service = PostgresService(port, password, workdir, data_dir, socket_dir, log_path, proc)
                _create_database(bin_dir, service, env, user_args)
                return service
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        last = _sys.tail(log_path)
        if "could not bind" not in last and "already in use" not in last:
            break
    _sys.remove_tree(base)
    raise ServiceUnavailable("postgres", f"did not accept connections within {timeout}s; log:\n{last}")


def _spawn_as(
    argv: list[str], log_path: Path, env: dict[str, str], cwd: Path, user_args: dict[str, object]
) -> subprocess.Popen[bytes]:
    """Like ``_sys.spawn`` (own session, death signal), but as the server's account."""
    import threading

    arm = threading.current_thread() is threading.main_thread()
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=str(cwd),
            # Runs after the uid change, so the death signal survives it (SIGINT: fast shutdown).
            preexec_fn=(lambda: _sys._set_pdeathsig(int(signal.SIGINT))) if arm else None,
            **user_args,  # type: ignore[arg-type]
        )
    finally:
        log.close()


def _create_database(
    bin_dir: Path, service: PostgresService, env: dict[str, str], user_args: dict[str, object]
) -> None:
    result = subprocess.run(
        [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(service.port), "-U", DB_USER, DB_NAME],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, "PGPASSWORD": service.password},
        check=False,
        **user_args,  # type: ignore[arg-type]
    )
    if result.returncode != 0:
        service.stop()
        raise ServiceUnavailable("postgres", f"createdb failed: {result.stderr[-1000:]}")

"""Low-level host helpers: free ports, private work dirs, process trees, mounts.

Everything here exists so that several test sessions can share one machine: each
session gets its own short work dir and its own ports, and cleanup only ever touches
processes and mounts that provably belong to that session (matched by its private
paths), never processes found by a broad name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

#: Unix socket paths are limited to 108 bytes (sun_path); dockerd's containerd puts
#: sockets a few levels below the exec-root, so work dirs must stay short.
WORK_PARENT = "/tmp"

_PR_SET_PDEATHSIG = 1
_MNT_DETACH = 2


OWNER_FILE = ".testenv-owner"


def make_workdir(prefix: str = "ra-") -> Path:
    """Create a unique, short private directory such as ``/tmp/ra-k3j9x2ab``.

    It records the owning PID so that a later session can sweep it if this process is
    SIGKILLed (nothing can clean up then; see ``sweep_stale_workdirs``).
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_PARENT))
    (path / OWNER_FILE).write_text(f"{os.getpid()}\n")
    return path


def sweep_stale_workdirs(prefix: str = "ra-") -> list[Path]:
    """Remove work dirs whose owning process is gone; return what was removed.

    Only dirs carrying our owner file are considered, so other tools' ``/tmp/ra-*`` dirs
    are never touched. A SIGKILLed session leaves dockerd's netns bind mount and its data
    root behind (its daemons exit by PR_SET_PDEATHSIG).
    """
    removed: list[Path] = []
    for path in Path(WORK_PARENT).glob(f"{prefix}*"):
        try:
            owner = int((path / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or os.path.exists(f"/proc/{owner}"):
            continue
        leftovers = processes_mentioning([str(path) + "/"])
        kill_pids(leftovers)
        wait_gone(leftovers, timeout=5)
        if not unmount_all(path):
            remove_tree(path)
            removed.append(path)
    return removed


def free_port() -> int:
    """Ask the kernel for a free loopback TCP port.

    There is an unavoidable window between closing this probe socket and the service
    binding the port; the ``start_*`` functions therefore retry on a bind failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    """Last ``lines`` lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _set_pdeathsig(sig: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def spawn(
    argv: list[str], log_path: Path, *, death_signal: int | None = signal.SIGTERM, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a daemon in its own session with output to ``log_path``.

    The child gets ``PR_SET_PDEATHSIG`` so that if the test process is SIGKILLed the
    daemon is told to shut down instead of living on as an orphan. PDEATHSIG fires when
    the *thread* that forked exits, so it is only armed from the main thread.
    """
    arm = death_signal is not None and threading.current_thread() is threading.main_thread()
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=(lambda: _set_pdeathsig(int(death_signal))) if arm else None,  # type: ignore[arg-type]
        )
    finally:
        log.close()


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may contain spaces; it is wrapped in parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def processes_mentioning(markers: Iterable[str]) -> set[int]:
    """PIDs whose command line mentions one of our private paths, plus descendants.

    containerd and every containerd-shim-runc-v2 carry our exec-root in their argv
    (``-address <exec-root>/containerd/containerd.sock``); the container processes are
    the shims' children. The shims run in their own process groups and get reparented
    to PID 1, so killing dockerd's process group alone would leave them behind.
    """
    markers = [m for m in markers if m]
    me = os.getpid()
    pids = _all_pids()
    roots = {pid for pid in pids if pid != me and any(m in arg for arg in _cmdline(pid) for m in markers)}
    parents = {pid: _ppid(pid) for pid in pids}
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found and pid != me:
                found.add(pid)
                changed = True
    return found


def kill_pids(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each PID, ignoring the ones that are already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def wait_gone(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait until none of ``pids`` exist (zombies count as gone); return survivors."""
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if _alive(pid)}
        if pending:
            time.sleep(0.05)
    return pending


def wait_reaped(pids: Iterable[int], timeout: float) -> set[int]:
    """Wait until ``pids`` are gone from /proc entirely, zombies included.

    Exited shims are reparented to PID 1, which reaps them a little later; waiting here
    keeps ``ps`` clean right after a test run. Returns the PIDs still present.
    """
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if os.path.exists(f"/proc/{pid}")}
        if pending:
            time.sleep(0.05)
    return pending


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root``, deepest first (the order to unmount in)."""
    prefix = str(root).rstrip("/")
    points: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all(root: Path) -> list[str]:
    """Lazily unmount everything below ``root``; return what could not be unmounted.

    dockerd leaves ``<exec-root>/netns/default`` (an nsfs bind) mounted after a clean
    shutdown and bind-mounts the data root onto itself; ``rm -rf`` would fail with EBUSY.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    failed: list[str] = []
    for _ in range(3):
        points = mounts_under(root)
        if not points:
            return []
        failed = []
        for point in points:
            if libc.umount2(point.encode(), _MNT_DETACH) != 0:
                failed.append(point)
    return failed


def remove_tree(path: Path) -> None:
    """``rm -rf`` that tolerates a half-removed tree."""
    shutil.rmtree(path, ignore_errors=True)

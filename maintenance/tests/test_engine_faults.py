"""The Docker engine unreachable for real: jobs fail with the reason and DOCKER_HOST, and the
registry is left exactly as it was (running, writable, the same container)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.models import Job
from maintenance import gc, registry_container
from maintenance.tests.gc_helpers import gc_job
from testenv.services import RegistryService

ROOT = Path(__file__).resolve().parents[2]


def assert_untouched(registry: RegistryService, container_id: str) -> None:
    registry.container.reload()
    assert registry.container.id == container_id
    assert registry.container.status == "running"
    assert registry_container.READONLY_ENV not in (registry.container.attrs["Config"].get("Env") or [])


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["read-only", "stop"])
def test_a_gc_job_fails_naming_docker_host_when_the_socket_is_missing(
    private_registry: RegistryService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    container_id = private_registry.container.id
    missing = f"unix://{tmp_path}/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", missing)
    job = gc_job(mode=mode)
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert missing in job.error and "does not exist" in job.error and "DOCKER_HOST" in job.error
    monkeypatch.undo()
    assert_untouched(private_registry, container_id)


@pytest.mark.django_db
def test_a_gc_job_fails_naming_docker_host_when_nothing_listens(
    private_registry: RegistryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    container_id = private_registry.container.id
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    job = gc_job(mode="read-only")
    gc.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "DOCKER_HOST" in job.error and "tcp://127.0.0.1:9" in job.error
    monkeypatch.undo()
    assert_untouched(private_registry, container_id)


@pytest.mark.skipif(os.geteuid() != 0, reason="gives the socket to another user: needs root, as CI runs")
def test_a_worker_without_access_to_the_socket_is_told_permission_denied(tmp_path: Path) -> None:
    """A socket owned by someone else with mode 0600, and a worker that, though root, has no
    capability to override file permissions: connect() gets a real EACCES, as a worker outside
    the socket's group does on the NAS."""
    socket_path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(socket_path))
    server.listen(1)
    os.chown(socket_path, 65534, 65534)
    socket_path.chmod(0o600)
    code = (
        "import django; django.setup()\n"
        "from maintenance import engine\n"
        "try:\n    engine.connect()\nexcept engine.EngineError as e:\n    print(e.message)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_admin.settings",
        "DATA_DIR": str(tmp_path / "data"),
        "DOCKER_HOST": f"unix://{socket_path}",
        "PYTHONPATH": str(ROOT),
    }
    argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", sys.executable, "-c", code]
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr[-2000:]
    message = done.stdout.strip()
    assert "permission denied" in message and str(socket_path) in message and "DOCKER_GID" in message
    assert "DOCKER_HOST" in message

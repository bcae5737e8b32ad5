"""Build the test registries' images with ``docker import`` (no base image can be pulled here).

Two images, both laid out like the official ``registry:3`` (binary ``/bin/registry``, config
``/etc/distribution/config.yml``, ``/entrypoint.sh``, ``VOLUME /var/lib/registry``,
``OTEL_TRACES_EXPORTER=none``) so that the dashboard's ``docker exec <c> registry
garbage-collect ...`` paths behave as in production:

- ``registry:3-test``: the real Distribution v3.1.1 binary (static) from
  ``REGISTRY_V3_BINARY`` (default ``../shared/registry-v3/registry`` from the project root) and
  a busybox with every applet, as the Alpine-based official image has.
- ``registry:2-test``: Debian's ``docker-registry`` (Distribution 2.8.2, dynamically linked),
  its two shared libraries and busybox.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from testenv.errors import ServiceUnavailable

if TYPE_CHECKING:
    from testenv.services import DockerEngine

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where the real v3.1.1 binary is unless REGISTRY_V3_BINARY says otherwise (../shared/registry-v3/README.md).
DEFAULT_V3_BINARY = PROJECT_ROOT.parent / "shared" / "registry-v3" / "registry"
BUSYBOX_BINARY = Path("/usr/bin/busybox")
#: The Debian registry binary is dynamically linked against exactly these two.
SHARED_LIBS = (
    Path("/lib/x86_64-linux-gnu/libc.so.6"),
    Path("/lib64/ld-linux-x86-64.so.2"),
)
BUSYBOX_APPLETS = (
    "sh",
    "ash",
    "du",
    "df",
    "find",
    "ls",
    "cat",
    "wc",
    "sleep",
    "echo",
    "env",
    "grep",
    "head",
    "tail",
    "mkdir",
    "rm",
    "mv",
    "cp",
    "ln",
    "stat",
    "test",
    "[",
    "true",
    "false",
    "ps",
    "kill",
    "sort",
    "xargs",
    "touch",
    "chmod",
    "id",
    "wget",
    "sed",
    "awk",
    "tr",
)
V3_IMAGE = "registry:3-test"
V2_IMAGE = "registry:2-test"
DEFAULT_IMAGE = V3_IMAGE
CONFIG_PATH = "/etc/distribution/config.yml"
DATA_PATH = "/var/lib/registry"

# The official registry:3 config: no auth section and no storage.delete (the installation guide
# enables deletes through REGISTRY_STORAGE_DELETE_ENABLED in the environment).
CONFIG_YML = """\
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""

# Same dispatch as the official image's entrypoint.
ENTRYPOINT_SH = """\
#!/bin/sh
set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
"""

IMAGE_CHANGES = (
    'ENTRYPOINT ["/entrypoint.sh"]',
    f'CMD ["{CONFIG_PATH}"]',
    f"VOLUME {DATA_PATH}",
    "EXPOSE 5000",
    "ENV OTEL_TRACES_EXPORTER=none",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
)


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    tar.addfile(info)


def v3_binary() -> Path:
    """The v3 registry binary: ``REGISTRY_V3_BINARY`` or the shared default path."""
    configured = os.environ.get("REGISTRY_V3_BINARY", "").strip()
    if not configured:
        return DEFAULT_V3_BINARY
    path = Path(configured)
    return path if path.is_absolute() else PROJECT_ROOT / path


def v3_binary_problem() -> str | None:
    """Why the v3 image cannot be built (the skip reason), or None when the binary is usable."""
    path = v3_binary()
    if not path.is_file():
        return f"no Distribution v3 binary at {path} (set REGISTRY_V3_BINARY to the registry:3 binary)"
    if not os.access(path, os.X_OK):
        return f"the Distribution v3 binary {path} is not executable"
    return None


def all_busybox_applets() -> tuple[str, ...]:
    """Every applet the host's static busybox has (``busybox --list``), as the Alpine image has them."""
    result = subprocess.run([str(BUSYBOX_BINARY), "--list"], capture_output=True, text=True, check=True, timeout=10)
    applets = tuple(name for name in result.stdout.split() if name and "/" not in name and name != "busybox")
    if "sh" not in applets:
        raise ServiceUnavailable("registry-image", f"{BUSYBOX_BINARY} --list has no 'sh'")
    return applets


def add_busybox(tar: tarfile.TarFile, applets: tuple[str, ...] = BUSYBOX_APPLETS) -> None:
    """Add ``/bin/busybox`` (static) plus applet symlinks and the usual top-level dirs."""
    for directory in ("bin", "etc", "tmp", "var", "usr", "usr/bin", "root", "proc", "sys", "dev"):
        _add_dir(tar, directory, 0o1777 if directory == "tmp" else 0o755)
    _add_bytes(tar, "bin/busybox", BUSYBOX_BINARY.read_bytes(), 0o755)
    for applet in applets:
        _add_symlink(tar, f"bin/{applet}", "busybox")
    _add_bytes(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    _add_bytes(tar, "etc/group", b"root:x:0:\n")


def registry_v3_rootfs_tar() -> bytes:
    """The root filesystem of the v3 image: the static v3 binary and busybox with all applets."""
    problem = v3_binary_problem()
    if problem:
        raise ServiceUnavailable("registry-v3-image", problem)
    if not BUSYBOX_BINARY.exists():
        raise ServiceUnavailable("registry-v3-image", f"missing host file: {BUSYBOX_BINARY} (busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_busybox(tar, all_busybox_applets())
        _add_bytes(tar, "bin/registry", v3_binary().read_bytes(), 0o755)
        for directory in ("etc/distribution", "var/lib", DATA_PATH.lstrip("/")):
            _add_dir(tar, directory)
        _add_bytes(tar, CONFIG_PATH.lstrip("/"), CONFIG_YML.encode())
        _add_bytes(tar, "entrypoint.sh", ENTRYPOINT_SH.encode(), 0o755)
    return buf.getvalue()


def registry_rootfs_tar() -> bytes:
    """The complete root filesystem of the 2.8 image, as an uncompressed tar."""
    missing = [str(p) for p in (REGISTRY_BINARY, BUSYBOX_BINARY, *SHARED_LIBS) if not p.exists()]
    if missing:
        raise ServiceUnavailable("registry-image", f"missing host files: {', '.join(missing)}")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_busybox(tar)
        _add_bytes(tar, "bin/registry", REGISTRY_BINARY.read_bytes(), 0o755)
        for directory in ("lib", "lib/x86_64-linux-gnu", "lib64", "etc/distribution", "var/lib", DATA_PATH.lstrip("/")):
            _add_dir(tar, directory)
        for lib in SHARED_LIBS:
            _add_bytes(tar, str(lib).lstrip("/"), lib.read_bytes(), 0o755)
        _add_bytes(tar, CONFIG_PATH.lstrip("/"), CONFIG_YML.encode())
        _add_bytes(tar, "entrypoint.sh", ENTRYPOINT_SH.encode(), 0o755)
    return buf.getvalue()


def build_registry_image(
    engine: DockerEngine,
    name: str = DEFAULT_IMAGE,
    major: int | None = None,
    extra_changes: tuple[str, ...] = (),
    check: bool = True,
) -> str:
    """Import the registry rootfs (``major`` 2: Debian's 2.8.2, 3: the v3 binary) as ``name``.

    ``major`` defaults to 3 when the v3 binary exists, else 2.

    Returns the image id. Raises ServiceUnavailable if the import fails or the result cannot
    print the expected registry version (a missing library shows up here, not in a test).
    ``extra_changes`` are more Dockerfile lines (``LABEL ...``): two builds with different
    labels are two "releases" of the same binary for the update tests; ``check=False``
    skips the version check (an image whose entrypoint never starts the registry).
    """
    if major is None:
        major = 3 if v3_binary_problem() is None else 2
    repository, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "latest")
    service = "registry-v3-image" if major == 3 else "registry-image"
    rootfs = registry_v3_rootfs_tar() if major == 3 else registry_rootfs_tar()
    api = engine.client().api
    try:
        result = api.import_image_from_data(
            rootfs,
            repository=repository,
            tag=tag or "latest",
            changes=[*IMAGE_CHANGES, *extra_changes],
        )
    except Exception as exc:  # docker.errors.APIError and transport errors alike
        raise ServiceUnavailable(service, f"docker import failed: {exc}") from exc
    image_id = _import_result_id(result)
    if not check:
        return image_id
    version = registry_version(engine, name)
    expected = "distribution/v3 v3." if major == 3 else "docker/distribution 2.8"
    if expected not in version:
        raise ServiceUnavailable(service, f"unexpected --version output: {version!r}")
    return image_id


def _import_result_id(result: object) -> str:
    """docker-py returns the raw JSON-lines body of ``/images/create``; pick the id."""
    text = result.decode() if isinstance(result, bytes) else str(result)
    image_id = ""
    for line in text.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if "error" in message:
            raise ServiceUnavailable("registry-image", f"docker import: {message['error']}")
        image_id = message.get("status", image_id)
    return image_id


def registry_version(engine: DockerEngine, image: str = DEFAULT_IMAGE) -> str:
    """``docker run --rm IMAGE --version`` (through the entrypoint's ``-*`` branch)."""
    output = engine.client().containers.run(
        image,
        ["--version"],
        remove=True,
        network_mode="host",
        stdout=True,
        stderr=True,
    )
    return output.decode(errors="replace").strip()

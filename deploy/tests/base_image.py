"""An offline stand-in for ``python:3.11-slim-bookworm``, the Dockerfile's default BASE_IMAGE.

No base image can be pulled on the machines the tests run on, but Debian's mirror can be
reached: ``debootstrap`` makes a minimal bookworm with Debian's python3 (3.11, the minor
version the tests run on) and python3-venv, ``docker import`` turns it into an image. The
machine's CA bundle goes in too, because pip inside the build reaches PyPI through the same
TLS setup as pip on the machine (its ``cert`` setting points at that bundle).

The root filesystem is cached as a tar under ``cache_dir``, keyed by suite, mirror, packages
and CA bundle, so only the first run pays for debootstrap (about two and a half minutes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from testenv import _sys

if TYPE_CHECKING:
    from testenv.services import DockerEngine

SUITE = "bookworm"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ("python3", "python3-venv", "ca-certificates")
IMAGE = "registry-admin-base:bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Not needed in an image: package downloads, apt lists, docs (the slim image drops them too).
TRIMMED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"ENV PIP_CERT={IMAGE_CA_BUNDLE}",
    f"ENV SSL_CERT_FILE={IMAGE_CA_BUNDLE}",
    f"ENV REQUESTS_CA_BUNDLE={IMAGE_CA_BUNDLE}",
    'CMD ["python3"]',
)
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class BaseImageUnavailable(Exception):
    """The base image cannot be made here; the message says what is missing."""


def _cache_key() -> str:
    digest = hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(PACKAGES)}".encode())
    if CA_BUNDLE.exists():
        digest.update(CA_BUNDLE.read_bytes())
    return digest.hexdigest()[:16]


def rootfs_tar(cache_dir: Path) -> Path:
    """The cached root filesystem tar, made with debootstrap when it is not there yet."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tar_path = cache_dir / f"{SUITE}-python3-{_cache_key()}.tar"
    if tar_path.exists():
        return tar_path
    debootstrap = shutil.which("debootstrap", path=_SBIN_PATH)
    if debootstrap is None:
        raise BaseImageUnavailable("debootstrap is not installed: run `bash deploy/install-test-deps.sh` (as root)")
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        root = Path(tmp) / "rootfs"
        try:
            result = subprocess.run(
                [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), MIRROR],
                capture_output=True,
                text=True,
                timeout=1800,
                env=dict(os.environ, PATH=_SBIN_PATH),
            )
            if result.returncode != 0:
                raise BaseImageUnavailable(f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}")
            for relative in TRIMMED:
                for child in (root / relative).glob("*"):
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            if CA_BUNDLE.exists():
                shutil.copyfile(CA_BUNDLE, root / IMAGE_CA_BUNDLE.lstrip("/"))
            partial = tar_path.with_suffix(".partial")
            excludes = [f"--exclude=./{d}/*" for d in ("dev", "proc", "sys")]
            subprocess.run(
                ["tar", "--numeric-owner", *excludes, "-C", str(root), "-cf", str(partial), "."],
                check=True,
                timeout=600,
            )
            partial.rename(tar_path)
        finally:
            # debootstrap mounts /proc and /sys in the target while it installs; a failed run
            # can leave them mounted, and rmtree would then walk the host's /proc.
            _sys.unmount_all(root)
    return tar_path


def build_base_image(engine: DockerEngine, cache_dir: Path, name: str = IMAGE) -> str:
    """Import the bookworm + python3 root filesystem into ``engine`` as ``name``; return ``name``."""
    tar_path = rootfs_tar(cache_dir)
    repository, _, tag = name.partition(":")
    engine.client().api.import_image_from_file(
        str(tar_path), repository=repository, tag=tag or "latest", changes=list(IMAGE_CHANGES)
    )
    version = engine.client().containers.run(name, ["python3", "--version"], remove=True, network_mode="host")
    if not version.decode().startswith("Python 3.11."):
        raise BaseImageUnavailable(f"{name}: expected Python 3.11, got {version.decode().strip()!r}")
    return name

"""Helpers for the GC tests: a private registry per test, pushes, deletes and tree hashes."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import requests

from jobs.models import Job
from testenv.images import ACCEPT_ALL
from testenv.services import RegistryService


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the sha256 of its content (symlinks by target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = "-> " + str(path.readlink())
        elif path.is_file():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def blob_path(registry: RegistryService, digest: str) -> Path:
    hexpart = digest.split(":", 1)[1]
    return registry.data_dir / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


def manifest_blobs(registry: RegistryService, repo: str, ref: str) -> list[str]:
    """The manifest's digest, its config's and its layers' (the blobs GC may free)."""
    response = requests.get(f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT_ALL}, timeout=10)
    response.raise_for_status()
    body = response.json()
    return [
        response.headers["Docker-Content-Digest"],
        body["config"]["digest"],
        *[layer["digest"] for layer in body["layers"]],
    ]


def delete_image(registry: RegistryService, repo: str, digest: str) -> None:
    response = requests.delete(f"{registry.url}/v2/{repo}/manifests/{digest}", timeout=10)
    assert response.status_code == 202, response.text


def gc_job(**params: Any) -> Job:
    return Job.objects.create(kind=Job.Kind.GC, params={"dry_run": False, "delete_untagged": False, **params})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"

"""Where the inventory reads the registry from: its storage files (``REGISTRY_DATA_DIR``) or HTTP.

The files are used when REGISTRY_DATA_DIR is set, can be read, look like a registry's storage,
and the registry runs on the filesystem storage driver (when the caller knows the driver:
maintenance reads it from the container's configuration). Otherwise the inventory asks the
registry over HTTP exactly as before, and ``Source.reason`` says why.

``ManifestFiles`` answers the two questions ``inventory.content.fetch`` asks of the registry
(a manifest, a config blob) from the files, so both paths parse manifests and configs with the
same function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from inventory.models import SyncState
from registry_client.client import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, RegistryNotFound
from registry_client.client import Manifest as RegistryManifest
from registry_files.gc import UploadPurging
from registry_files.layout import BlobMissing, RegistryFilesError, StorageFiles


@dataclass(frozen=True)
class Source:
    """``files`` when the storage files are read, else None and ``reason`` says why HTTP is used."""

    files: StorageFiles | None
    reason: str

    @property
    def name(self) -> str:
        return "files" if self.files is not None else "http"

    def as_dict(self) -> dict[str, str]:
        return {"source": self.name, "reason": self.reason}


#: The registry's storage driver as maintenance last read it from the container's configuration
#: (``maintenance.snapshot.store_snapshot``); absent while unknown.
DRIVER_CACHE_KEY = "registry:storage-driver"
#: The registry's ``storage.maintenance.uploadpurging`` (``{"enabled", "age_hours"}``) as maintenance
#: last read it from the container's configuration; absent while unknown (the default is assumed).
UPLOAD_PURGING_CACHE_KEY = "registry:upload-purging"


#: While the space figures are being measured (queued or running: ``inventory.tasks.measure_storage``),
#: the cache holds when they were asked for; the Storage page and GET /api/v1/storage/ say so.
MEASURING_CACHE_KEY = "inventory:storage-files-measuring"
#: The measurement's time limit, and how long that mark lasts at most.
SPACE_TIME_LIMIT = 3600


def mark_measuring(measuring: bool = True) -> None:
    """Mark the space figures as being measured from now (or no longer)."""
    if measuring:
        cache.set(MEASURING_CACHE_KEY, timezone.now().isoformat(), SPACE_TIME_LIMIT)
    else:
        cache.delete(MEASURING_CACHE_KEY)


def measuring_since() -> datetime | None:
    """When the space figures being measured now were asked for; None when none are."""
    asked = cache.get(MEASURING_CACHE_KEY)
    try:
        return datetime.fromisoformat(asked) if isinstance(asked, str) else None
    except ValueError:
        return None


def upload_purging() -> UploadPurging:
    """When the registry purges upload leftovers: from its configuration when maintenance read it,
    else the registry's default (168 h) and say so."""
    known = cache.get(UPLOAD_PURGING_CACHE_KEY)
    if not isinstance(known, dict) or "age_hours" not in known:
        return UploadPurging()
    return UploadPurging(
        enabled=bool(known.get("enabled", True)), age_hours=float(known["age_hours"]), read_from="configuration"
    )


def source(driver: str | None = None) -> Source:
    """What the inventory reads: the files under REGISTRY_DATA_DIR, or HTTP with the reason.

    ``driver`` is the registry's storage driver (``filesystem``, ``s3``...); by default the one
    maintenance last read from the registry's configuration, if any.
    """
    if driver is None:
        driver = cache.get(DRIVER_CACHE_KEY) or None
    root = settings.REGISTRY_DATA_DIR
    if not root:
        return Source(None, "REGISTRY_DATA_DIR is not set: the registry is read over HTTP.")
    if driver and driver != "filesystem":
        return Source(
            None,
            f"The registry stores its data with the '{driver}' storage driver, not on a filesystem: "
            "REGISTRY_DATA_DIR is not used.",
        )
    files = StorageFiles(root)
    try:
        files.check()
    except RegistryFilesError as e:
        return Source(None, f"REGISTRY_DATA_DIR={root}: {e.message} The registry is read over HTTP.")
    return Source(files, f"The registry's storage files are read from REGISTRY_DATA_DIR={root} (read-only).")


def recorded_source() -> dict[str, object] | None:
    """Which source the last sync read and why (``source``, ``reason``, ``finished``); None before
    the first sync that said. The web has no REGISTRY_DATA_DIR of its own: the worker's word counts."""
    state = SyncState.objects.filter(pk=1).first()
    result = (state.last_result or {}) if state else {}
    if not result.get("source"):
        return None
    return {
        "source": result["source"],
        "reason": result.get("source_reason", ""),
        "finished": state and state.last_finished,
    }


def media_type(body: dict[str, object]) -> str:
    """A stored manifest's type, as the registry answers it: its ``mediaType``, else what its fields
    make it (an OCI manifest may leave ``mediaType`` out)."""
    declared = body.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if "manifests" in body:
        return OCI_INDEX
    return OCI_MANIFEST if "config" in body else DOCKER_MANIFEST


class ManifestFiles:
    """A manifest and a blob of a repository from the files, answering as ``RegistryClient`` does:
    RegistryNotFound when the repository has no link to it (the registry would answer 404)."""

    request_count = 0  # no registry request, ever

    def __init__(self, files: StorageFiles) -> None:
        self.files = files
        # Read once: a settings attribute per config blob cost 0.1 s of GIL time at 15,000.
        self.config_limit = settings.CATALOG_CACHE_MAX_KB * 1024 + 1

    def get_manifest(self, name: str, reference: str) -> RegistryManifest:
        digest = reference
        if not reference.startswith("sha256:"):
            link = self.files.tag_link(name, reference)
            if link is None:
                raise RegistryNotFound(f"{name}:{reference} does not exist in the registry.")
            digest = link.digest
        if not digest.startswith("sha256:") or not self.files.links(name, "revisions", digest):
            raise RegistryNotFound(f"{name}@{digest} does not exist in the registry.")
        try:
            raw = self.files.read_blob(digest)
        except (BlobMissing, RegistryFilesError):
            raise RegistryNotFound(f"{name}@{digest} does not exist in the registry.") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise RegistryNotFound(f"{name}@{digest} is not a JSON manifest.") from None
        if not isinstance(body, dict):
            raise RegistryNotFound(f"{name}@{digest} is not a JSON manifest.")
        return RegistryManifest(digest=digest, media_type=media_type(body), raw=raw, body=body)

    def get_blob(self, name: str, digest: str) -> bytes:
        if not digest.startswith("sha256:") or not self.files.links(name, "layers", digest):
            raise RegistryNotFound(f"Blob {digest} of {name} does not exist in the registry.")
        try:
            return self.files.read_blob(digest, limit=self.config_limit)
        except (BlobMissing, RegistryFilesError):
            raise RegistryNotFound(f"Blob {digest} of {name} does not exist in the registry.") from None

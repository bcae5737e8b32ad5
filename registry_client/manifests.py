"""Reading manifests and configs: pure functions shared by the catalog and the inventory.

No HTTP and no database here; ``inventory.content`` and ``catalog.blobs`` both read manifests with it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp as an aware datetime (UTC when it names no offset); None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())  # Go writes nanoseconds; Python reads microseconds
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def parse_created(value: Any) -> dt.datetime | None:
    """An image's ``created`` as an aware datetime; None when absent, unreadable or Go's zero time."""
    created = parse_timestamp(value)
    return None if created is None or created.year <= 1 else created


def platform(entry: dict[str, Any]) -> str | None:
    """``os/arch[/variant]`` of an index entry; None for BuildKit attestations (unknown/unknown)."""
    annotations = entry.get("annotations") or {}
    if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
        return None
    value = entry.get("platform") or {}
    os_name = str(value.get("os") or "unknown")
    arch = str(value.get("architecture") or "unknown")
    if os_name == "unknown" and arch == "unknown":
        return None
    variant = value.get("variant")
    return f"{os_name}/{arch}" + (f"/{variant}" if variant else "")


def platform_entries(body: dict[str, Any]) -> list[tuple[str, str]]:
    """``(os/arch[/variant], digest)`` of an index's platforms: what its size and platforms count."""
    entries = []
    for entry in body.get("manifests") or []:
        name = platform(entry) if isinstance(entry, dict) else None
        if name is not None and entry.get("digest"):
            entries.append((name, str(entry["digest"])))
    return entries


def referrer_entries(body: dict[str, Any]) -> list[str]:
    """Digests of an index's entries that are artifacts, not platforms: what an OCI 1.1 referrers
    index (the ``sha256-<hex>`` tag) lists, each entry with its ``artifactType``."""
    platforms = {digest for _, digest in platform_entries(body)}
    return [
        str(entry["digest"])
        for entry in body.get("manifests") or []
        if isinstance(entry, dict)
        and entry.get("digest")
        and entry.get("artifactType")
        and str(entry["digest"]) not in platforms
    ]


def blob_descriptors(body: dict[str, Any]) -> list[tuple[str, int, str]]:
    """``(digest, compressed size, media type)`` of an image manifest's config and layers, in order."""
    descriptors = [body.get("config") or {}, *(body.get("layers") or [])]
    return [
        (str(d["digest"]), int(d.get("size") or 0), str(d.get("mediaType") or ""))
        for d in descriptors
        if isinstance(d, dict) and d.get("digest")
    ]


def blob_sizes(body: dict[str, Any]) -> dict[str, int]:
    """Config and layer digests with their compressed sizes, from the manifest's descriptors."""
    return {digest: size for digest, size, _ in blob_descriptors(body)}


def is_json_config(descriptor: dict[str, Any]) -> bool:
    """Only JSON configs are read: artifacts (cosign signatures, SBOMs) may carry anything."""
    return bool(descriptor.get("digest")) and "json" in str(descriptor.get("mediaType") or "json")


def config_platform(config: dict[str, Any]) -> str | None:
    """``os/arch[/variant]`` from an image config, when it names an os."""
    return platform({"platform": config}) if config.get("os") else None


# --- What a manifest is -----------------------------------------------------------------

KINDS = ("image", "index", "helm-chart", "signature", "attestation", "sbom", "artifact")

_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
_IMAGE_CONFIGS = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
# Signatures: cosign's simple signing payload (tag schema and OCI 1.1), Notary Project (notation).
_SIGNATURES = (
    "application/vnd.dev.cosign.simplesigning.v1+json",
    "application/vnd.dev.cosign.artifact.sig.v1+json",
    "application/vnd.cncf.notary.signature",
)
# Attestations: DSSE envelopes (cosign attest) and in-toto statements (BuildKit, witness).
_ATTESTATIONS = ("application/vnd.dsse.envelope.v1+json", "application/vnd.in-toto+json")
_SBOMS = (
    "application/spdx+json",
    "text/spdx",
    "text/spdx+json",
    "application/vnd.cyclonedx",
    "application/vnd.cyclonedx+json",
    "application/vnd.cyclonedx+xml",
    "application/vnd.syft+json",
    "application/vnd.dev.cosign.artifact.sbom.v1+json",
)


def _type_kind(media_type: str) -> str | None:
    if media_type in _SIGNATURES:
        return "signature"
    if media_type in _SBOMS or "spdx" in media_type or "cyclonedx" in media_type:
        return "sbom"
    if media_type in _ATTESTATIONS or media_type.startswith("application/vnd.dev.cosign.artifact.att"):
        return "attestation"
    return None


def classify(media_type: str, body: dict[str, Any]) -> tuple[str, str]:
    """``(kind, artifact type)`` of a manifest from its media type, artifactType, config and layers.

    The artifact type is OCI 1.1's: ``artifactType``, else the config's media type unless it is
    an image config or the empty config; "" for images and indexes without one.
    """
    artifact_type = str(body.get("artifactType") or "")
    if media_type in _INDEX_TYPES or str(body.get("mediaType") or "") in _INDEX_TYPES:
        return "index", artifact_type
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    config_type = str((config or {}).get("mediaType") or "")
    if not artifact_type and config_type not in (*_IMAGE_CONFIGS, _EMPTY_CONFIG, ""):
        artifact_type = config_type
    if config_type == HELM_CONFIG or artifact_type == HELM_CONFIG:
        return "helm-chart", HELM_CONFIG
    layer_types = [str(layer.get("mediaType") or "") for layer in body.get("layers") or [] if isinstance(layer, dict)]
    for candidate in (artifact_type, *layer_types):
        kind = _type_kind(candidate)
        if kind is not None:
            if not artifact_type:
                artifact_type = candidate
            return kind, artifact_type
    if artifact_type:
        return "artifact", artifact_type
    return "image", ""


def subject_digest(body: dict[str, Any]) -> str:
    """The digest an OCI 1.1 manifest's ``subject`` names (what it signs, describes or attests); ""."""
    subject = body.get("subject")
    return str(subject.get("digest") or "") if isinstance(subject, dict) else ""


def helm_chart(config: dict[str, Any]) -> dict[str, str]:
    """A Helm chart's name, version, appVersion and description from its config (Chart.yaml as JSON)."""
    return {key: str(config.get(key) or "") for key in ("name", "version", "appVersion", "description")}

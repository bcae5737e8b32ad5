"""Reading manifests and configs: pure functions shared by the catalog and the inventory.

No HTTP and no database here; ``catalog.services`` and ``inventory.sync`` both import it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_created(value: Any) -> dt.datetime | None:
    """An image's ``created`` as an aware datetime; None when absent, unreadable or Go's zero time."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())  # Go writes nanoseconds; Python reads microseconds
    try:
        created = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return None if created.year <= 1 else created


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

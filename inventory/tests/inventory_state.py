"""What the inventory holds of a manifest or a tag, by name and digest (no database ids): the
tests that compare two ways of filling the inventory compare these."""

from __future__ import annotations

import json
from typing import Any

from inventory.models import Manifest, Tag


def tag_row(tag: Tag) -> tuple[Any, ...]:
    return (tag.digest, tag.size, tag.created, tag.attached_to)


def manifest_row(manifest: Manifest) -> tuple[Any, ...]:
    """Its fields, its blobs and its children; the config and the body as sorted JSON (from the
    files they are written as the registry's bytes: ``bulk.JSONText``)."""
    return (
        manifest.media_type,
        manifest.kind,
        manifest.artifact_type,
        manifest.subject,
        manifest.size,
        manifest.created,
        tuple(manifest.platforms),
        manifest.config_digest,
        json.dumps(manifest.config, sort_keys=True),
        json.dumps(manifest.body, sort_keys=True),
        tuple((link.blob.digest, link.position) for link in manifest.blob_links.select_related("blob")),
        tuple((c.digest, c.platform, c.position) for c in manifest.child_links.all()),
    )

"""The API's JSON shapes for the catalog's dataclasses (the contract of issue 3)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from inventory import gaps
from inventory.types import ImageConfig, ImageDetail, Referrer, Repository, TagRow


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def repository(repo: Repository) -> dict[str, Any]:
    return {
        "name": repo.name,
        "tag_count": repo.tag_count,
        "last_pushed": _when(repo.last_pushed),
        "pull_count": repo.pull_count,
        "pulls_since": _when(gaps.pulls_counted_since_cached()),
        "size": repo.size,
    }


def referrer(item: Referrer) -> dict[str, Any]:
    return {
        "digest": item.digest,
        "kind": item.kind,
        "artifact_type": item.artifact_type,
        "size": item.size,
        "created": _when(item.created),
        "tag": item.tag or None,
    }


def tag(row: TagRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "digest": row.digest,
        "media_type": row.media_type,
        "kind": row.kind,
        "artifact_type": row.artifact_type,
        "size": row.size,
        "created": _when(row.created),
        "platforms": list(row.platforms),
        "signatures": [{"tag": item.tag, "kind": item.kind} for item in row.attached],
        "attached": [referrer(item) for item in row.referrers],
        "pushed": _when(row.pushed),
        "last_pulled": _when(row.last_pulled),
        "pull_count": row.pull_count,
        "pulls_since": _when(gaps.pulls_counted_since_cached()),
        "protected": bool(row.protected_by),
        "protected_by": row.protected_by or None,
    }


def config(value: ImageConfig) -> dict[str, Any]:
    return {
        "created": _when(value.created),
        "author": value.author,
        "os": value.os,
        "architecture": value.architecture,
        "variant": value.variant,
        "entrypoint": list(value.entrypoint) if value.entrypoint is not None else None,
        "cmd": list(value.cmd) if value.cmd is not None else None,
        "env": list(value.env),
        "exposed_ports": list(value.exposed_ports),
        "working_dir": value.working_dir,
        "user": value.user,
        "history": [
            {
                "created": _when(entry.created),
                "created_by": entry.created_by,
                "comment": entry.comment,
                "empty_layer": entry.empty_layer,
            }
            for entry in value.history
        ],
    }


def image(detail: ImageDetail) -> dict[str, Any]:
    """A tag or a manifest: the tag fields plus layers, config and labels, and an index's manifests."""
    data: dict[str, Any] = {
        "name": detail.tag,
        "repository": detail.repository,
        "digest": detail.digest,
        "media_type": detail.media_type,
        "kind": detail.kind,
        "artifact_type": detail.artifact_type,
        "size": detail.size,
        "created": _when(detail.created),
        "platforms": list(detail.platforms),
        "signatures": [{"tag": item.tag, "kind": item.kind} for item in detail.attached],
        "attached": [referrer(item) for item in detail.referrers],
        "layers": [
            {"digest": layer.digest, "size": layer.size, "media_type": layer.media_type} for layer in detail.layers
        ],
        "config": config(detail.config) if detail.config is not None else {},
        "labels": dict(detail.config.labels) if detail.config is not None else {},
        "pushed": _when(detail.pushed),
        "last_pulled": _when(detail.last_pulled),
        "pull_count": detail.pull_count,
        "pulls_since": _when(gaps.pulls_counted_since_cached()),
    }
    if detail.chart is not None:
        data["chart"] = {
            "name": detail.chart.name,
            "version": detail.chart.version,
            "app_version": detail.chart.app_version,
            "description": detail.chart.description,
        }
    if detail.kind == "index":
        data["manifests"] = [
            {"digest": child.digest, "platform": child.platform, "size": child.size, "media_type": child.media_type}
            for child in detail.manifests
        ]
    return data

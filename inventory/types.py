"""What the catalog's pages and the API show of the inventory's content: typed rows.

``inventory.queries`` returns these; ``catalog`` renders and serializes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from registry_client import manifests
from registry_client.client import INDEX_TYPES


@dataclass(frozen=True)
class Repository:
    name: str
    tag_count: int
    last_pushed: dt.datetime | None = None
    pull_count: int | None = None
    size: int | None = None

    @property
    def namespace(self) -> str:
        """The part before the first ``/``; "" for top-level repositories."""
        return self.name.split("/", 1)[0] if "/" in self.name else ""

    @property
    def is_empty(self) -> bool:
        return self.tag_count == 0


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class PlatformImage:
    """One platform of an index: ``os/arch[/variant]``, its manifest digest and image size."""

    platform: str
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ContentSummary:
    """What a manifest's content tells.

    ``size`` is the compressed size: config + layers for an image; for an index, the sum of
    the distinct blobs of its platforms (shared layers counted once, attestations left
    out), i.e. what a registry stores for it. Each platform's own size is in ``children``.
    ``created`` comes from the config blob (for an index: the newest platform's); None when
    the image has none.
    """

    digest: str
    media_type: str
    size: int
    created: dt.datetime | None
    platforms: tuple[str, ...]
    children: tuple[PlatformImage, ...] = ()
    # registry_client.manifests.classify's answer, stored with the manifest.
    classified: str = ""
    artifact_type: str = ""
    subject: str = ""  # the digest an OCI 1.1 ``subject`` names: what this artifact belongs to

    @property
    def kind(self) -> str:
        """image, index, helm-chart, signature, attestation, sbom or artifact (see artifact_type)."""
        if self.classified:
            return self.classified
        return "index" if self.media_type in INDEX_TYPES else "image"


@dataclass(frozen=True)
class Attached:
    """A cosign-style ``sha256-<hex>.sig|.att|.sbom`` tag belonging to an image."""

    tag: str
    kind: str


@dataclass(frozen=True)
class Referrer:
    """An artifact attached to an image: a signature, attestation or SBOM tag, an entry of its
    referrers index (sha256-<hex>), or a tagged manifest whose ``subject`` is the image."""

    digest: str
    kind: str
    artifact_type: str
    size: int
    created: dt.datetime | None
    tag: str = ""  # "" for an artifact pushed by digest, opened by its digest


class _SummaryFields:
    """What a tag row and an image page show of their manifest, read from its ContentSummary."""

    summary: ContentSummary

    digest = property(lambda self: self.summary.digest)
    media_type = property(lambda self: self.summary.media_type)
    kind = property(lambda self: self.summary.kind)
    artifact_type = property(lambda self: self.summary.artifact_type)
    size = property(lambda self: self.summary.size)
    created = property(lambda self: self.summary.created)
    platforms = property(lambda self: self.summary.platforms)


@dataclass(frozen=True)
class TagRow(_SummaryFields):
    name: str
    summary: ContentSummary
    attached: tuple[Attached, ...] = ()
    referrers: tuple[Referrer, ...] = ()
    pushed: dt.datetime | None = None
    last_pulled: dt.datetime | None = None
    pull_count: int | None = None
    # The sentence of the protected-tag rule that keeps it from the dashboard's deletes, or ""
    # (set by ``catalog.services.tag_rows``).
    protected_by: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    created: dt.datetime | None
    created_by: str
    comment: str
    empty_layer: bool


@dataclass(frozen=True)
class ImageConfig:
    created: dt.datetime | None
    author: str
    os: str
    architecture: str
    variant: str
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    labels: dict[str, str]
    working_dir: str
    user: str
    history: tuple[HistoryEntry, ...]
    raw: dict[str, Any]

    @classmethod
    def from_blob(cls, blob: dict[str, Any]) -> ImageConfig:
        container = blob.get("config") or {}
        return cls(
            created=manifests.parse_created(blob.get("created")),
            author=str(blob.get("author") or ""),
            os=str(blob.get("os") or ""),
            architecture=str(blob.get("architecture") or ""),
            variant=str(blob.get("variant") or ""),
            entrypoint=_strings(container.get("Entrypoint")),
            cmd=_strings(container.get("Cmd")),
            env=_strings(container.get("Env")) or (),
            exposed_ports=tuple(sorted(container.get("ExposedPorts") or {})),
            labels={str(k): str(v) for k, v in (container.get("Labels") or {}).items()},
            working_dir=str(container.get("WorkingDir") or ""),
            user=str(container.get("User") or ""),
            history=tuple(
                HistoryEntry(
                    created=manifests.parse_created(entry.get("created")),
                    created_by=str(entry.get("created_by") or ""),
                    comment=str(entry.get("comment") or ""),
                    empty_layer=bool(entry.get("empty_layer")),
                )
                for entry in blob.get("history") or []
                if isinstance(entry, dict)
            ),
            raw=blob,
        )


@dataclass(frozen=True)
class HelmChart:
    """What a Helm chart's config (its Chart.yaml as JSON) says of it."""

    name: str
    version: str
    app_version: str
    description: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HelmChart:
        found = manifests.helm_chart(config)
        return cls(
            name=found["name"],
            version=found["version"],
            app_version=found["appVersion"],
            description=found["description"],
        )


@dataclass(frozen=True)
class ImageDetail(_SummaryFields):
    """An image page: a tag or a digest, with its layers and config (an image) or platforms (an index)."""

    repository: str
    reference: str
    tag: str | None
    summary: ContentSummary
    layers: tuple[Layer, ...]
    config_digest: str
    config: ImageConfig | None
    attached: tuple[Attached, ...]
    annotations: dict[str, str]
    pushed: dt.datetime | None = None
    last_pulled: dt.datetime | None = None
    pull_count: int | None = None
    chart: HelmChart | None = None
    referrers: tuple[Referrer, ...] = ()

    manifests = property(lambda self: self.summary.children)

    @property
    def labels(self) -> dict[str, str]:
        """The config's labels; none without a config blob (an index)."""
        return dict(self.config.labels) if self.config is not None else {}


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


class SyncResult(TypedDict):
    """A sync job's ``result`` (and ``SyncState.last_result``): what the reconcile did."""

    repositories: int
    tags: int
    requests: dict[str, int]
    # Known tags a healthy reconcile did not HEAD (events vouch for them): not requests made.
    skipped_heads: int
    added_tags: int
    moved_tags: int
    removed_tags: int
    added_repositories: int
    removed_repositories: int
    fetched_manifests: int
    removed_manifests: int
    seconds: float

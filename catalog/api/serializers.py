"""The catalog's answers (the contract of issue 3): each serializer renders one of the
inventory's dataclasses (``inventory.types``) and is the OpenAPI schema of what it renders."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.services import KINDS
from core.api.schema import paginated
from core.api.serializers import IsoDateTimeField, PresenceField, TextOrNullField
from inventory import gaps
from inventory.types import (
    Attached,
    HelmChart,
    HistoryEntry,
    ImageConfig,
    ImageDetail,
    Layer,
    PlatformImage,
    Referrer,
    Repository,
    TagRow,
)


class PullsSinceField(IsoDateTimeField):
    """Since when pull counts and last-pulled dates are complete (issue 22): the same for every row."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "pull_count and last_pulled are complete since then (events tracked, no gap after it); "
            "null: not proven (events off, never received, or a gap still open)",
        )
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return gaps.pulls_counted_since_cached()


class RepositorySerializer(serializers.Serializer[Repository]):
    name = serializers.CharField()
    tag_count = serializers.IntegerField(min_value=0)
    last_pushed = IsoDateTimeField(allow_null=True, help_text="when a tag of it was last pushed, if known")
    pull_count = serializers.IntegerField(allow_null=True, min_value=0, help_text="pulls seen in the registry's events")
    pulls_since = PullsSinceField()
    size = serializers.IntegerField(allow_null=True, min_value=0, help_text="bytes its tags' blobs take, shared once")


class AttachedSerializer(serializers.Serializer[Attached]):
    tag = serializers.CharField()
    kind = serializers.CharField(help_text="sig, att, sbom or referrers: the suffix of a tag attached to the image")


class ReferrerSerializer(serializers.Serializer[Referrer]):
    """An artifact attached to the image: a sig/att/sbom tag, a referrers-tag entry, a subject's manifest."""

    digest = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    artifact_type = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(min_value=0)
    created = IsoDateTimeField(allow_null=True)
    tag = TextOrNullField(help_text="null for an artifact pushed by digest")


class HelmChartSerializer(serializers.Serializer[HelmChart]):
    name = serializers.CharField(allow_blank=True)
    version = serializers.CharField(allow_blank=True)
    app_version = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)


class TagSerializer(serializers.Serializer[TagRow]):
    name = serializers.CharField()
    digest = serializers.CharField()
    media_type = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS), help_text="worked out from artifactType, config and layers")
    artifact_type = serializers.CharField(allow_blank=True, help_text="the OCI artifact type; empty for images")
    size = serializers.IntegerField(min_value=0)
    created = IsoDateTimeField(allow_null=True)
    platforms = serializers.ListField(child=serializers.CharField())
    signatures = AttachedSerializer(source="attached", many=True)
    attached = ReferrerSerializer(source="referrers", many=True)
    pushed = IsoDateTimeField(allow_null=True, help_text="when the tag last moved here, if known")
    last_pulled = IsoDateTimeField(allow_null=True)
    pull_count = serializers.IntegerField(allow_null=True, min_value=0)
    pulls_since = PullsSinceField()
    protected = PresenceField(
        source="protected_by", help_text="a protected-tag rule keeps it from the dashboard's deletes"
    )
    protected_by = TextOrNullField(help_text="that rule, e.g. protected by rule 3: ...")


class LayerSerializer(serializers.Serializer[Layer]):
    digest = serializers.CharField()
    size = serializers.IntegerField(min_value=0)
    media_type = serializers.CharField()


class HistoryEntrySerializer(serializers.Serializer[HistoryEntry]):
    created = IsoDateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)
    empty_layer = serializers.BooleanField()


class ImageConfigSerializer(serializers.Serializer[ImageConfig]):
    """The image's config blob; an empty object when the image has none (an index)."""

    created = IsoDateTimeField(allow_null=True, required=False)
    author = serializers.CharField(allow_blank=True, required=False)
    os = serializers.CharField(allow_blank=True, required=False)
    architecture = serializers.CharField(allow_blank=True, required=False)
    variant = serializers.CharField(allow_blank=True, required=False)
    entrypoint = serializers.ListField(child=serializers.CharField(), allow_null=True, required=False)
    cmd = serializers.ListField(child=serializers.CharField(), allow_null=True, required=False)
    env = serializers.ListField(child=serializers.CharField(), required=False)
    exposed_ports = serializers.ListField(child=serializers.CharField(), required=False)
    working_dir = serializers.CharField(allow_blank=True, required=False)
    user = serializers.CharField(allow_blank=True, required=False)
    history = HistoryEntrySerializer(many=True, required=False)


class PlatformManifestSerializer(serializers.Serializer[PlatformImage]):
    digest = serializers.CharField()
    platform = serializers.CharField()
    size = serializers.IntegerField(min_value=0)
    media_type = serializers.CharField()


class ImageSerializer(serializers.Serializer[ImageDetail]):
    """A tag or a manifest: the tag's fields plus layers, config and labels; an index adds manifests."""

    name = serializers.CharField(source="tag", allow_null=True, help_text="the tag; null when asked by digest")
    repository = serializers.CharField()
    digest = serializers.CharField()
    media_type = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    artifact_type = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(min_value=0)
    created = IsoDateTimeField(allow_null=True)
    platforms = serializers.ListField(child=serializers.CharField())
    signatures = AttachedSerializer(source="attached", many=True)
    attached = ReferrerSerializer(source="referrers", many=True)
    layers = LayerSerializer(many=True)
    config = ImageConfigSerializer()
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    pushed = IsoDateTimeField(allow_null=True)
    last_pulled = IsoDateTimeField(allow_null=True)
    pull_count = serializers.IntegerField(allow_null=True, min_value=0)
    pulls_since = PullsSinceField()
    chart = HelmChartSerializer(required=False, help_text="a Helm chart's Chart.yaml fields")
    manifests = PlatformManifestSerializer(many=True, required=False, help_text="an index's platform images")

    def to_representation(self, instance: ImageDetail) -> dict[str, Any]:
        data: dict[str, Any] = dict(super().to_representation(instance))
        if instance.config is None:
            data["config"] = {}  # no config blob (an index): an empty object, in its place
        if instance.chart is None:
            del data["chart"]
        if instance.kind != "index":
            del data["manifests"]
        return data


RepositoryPage = paginated(RepositorySerializer, "PaginatedRepositoryList")
TagPage = paginated(TagSerializer, "PaginatedTagList")

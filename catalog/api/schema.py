"""Documentation serializers for the catalog's hand-built JSON (``catalog.api.serializers``).

They describe, field by field, what ``serializers.repository/tag/image`` and the delete views
return; nothing validates or renders with them. A new catalog endpoint adds its shapes here and
an ``@extend_schema`` on its view (see ``core.api.schema`` for the pattern).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from catalog.services import KINDS, ORDERINGS
from core.api.schema import NO_NUL, SOMETHING, JsonCharField, paginated
from core.patterns import GLOB_MAX_LENGTH, GLOB_PATTERN, REGEX_MAX_LENGTH
from registry_admin.env import FALSE_WORDS, TRUE_WORDS
from registry_client.client import COMPONENT_MAX_LENGTH
from registry_client.references import DIGEST_PATTERN, NAME_MAX_LENGTH, NAME_PATTERN, TAG_PATTERN

NAME_PARAMETER = OpenApiParameter(
    "name",
    {"type": "string", "pattern": f"^{NAME_PATTERN}$", "maxLength": NAME_MAX_LENGTH},
    OpenApiParameter.PATH,
    description=(
        "The repository name, which may contain slashes (team/app/api): it goes into the path as "
        "it is, e.g. /api/v1/repositories/team/app/tags/. Lowercase letters and digits with . _ __ - "
        f"separators, components joined by /, at most {NAME_MAX_LENGTH} characters; another name is a 400. "
        f"A component longer than {COMPONENT_MAX_LENGTH} characters is a 404 without asking the registry "
        "(Distribution 2.8 fails on such names)."
    ),
)
TAG_PARAMETER = OpenApiParameter(
    "tag", {"type": "string", "pattern": f"^{TAG_PATTERN}$"}, OpenApiParameter.PATH, description="A tag."
)
DIGEST_PARAMETER = OpenApiParameter(
    "digest",
    {"type": "string", "pattern": f"^{DIGEST_PATTERN}$"},
    OpenApiParameter.PATH,
    description="A manifest digest, sha256: and 64 lowercase hex digits.",
)


class RepositoryQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=NAME_MAX_LENGTH, help_text="names containing this, any case"
    )


class TagQuerySerializer(serializers.Serializer):
    ordering = serializers.ChoiceField(
        required=False, choices=list(ORDERINGS), default="name", help_text="- reverses; name is the fastest"
    )
    kind = serializers.ChoiceField(
        required=False,
        allow_blank=True,
        choices=list(KINDS),
        default="",
        help_text="only tags of this kind; empty for every kind",
    )


_BOOLEAN_WORDS = sorted(TRUE_WORDS | FALSE_WORDS)


class DeleteQuerySerializer(serializers.Serializer):
    force = serializers.ChoiceField(
        required=False,
        choices=_BOOLEAN_WORDS,
        help_text="true deletes even when other tags share the manifest (they go too); default false",
    )


class TagDeleteQuerySerializer(DeleteQuerySerializer):
    prune = serializers.ChoiceField(
        required=False,
        choices=_BOOLEAN_WORDS,
        help_text="registry:3: also delete the manifest the tag delete left untagged; default false",
    )


class RepositorySerializer(serializers.Serializer):
    name = serializers.CharField()
    tag_count = serializers.IntegerField(min_value=0)


class AttachedSerializer(serializers.Serializer):
    tag = serializers.CharField()
    kind = serializers.CharField(help_text="sig, att, sbom or referrers: the suffix of a tag attached to the image")


class ReferrerSerializer(serializers.Serializer):
    """An artifact attached to the image: a sig/att/sbom tag, a referrers-tag entry, a subject's manifest."""

    digest = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    artifact_type = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(min_value=0)
    created = serializers.DateTimeField(allow_null=True)
    tag = serializers.CharField(allow_null=True, help_text="null for an artifact pushed by digest")


class HelmChartSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    version = serializers.CharField(allow_blank=True)
    app_version = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    digest = serializers.CharField()
    media_type = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS), help_text="worked out from artifactType, config and layers")
    artifact_type = serializers.CharField(allow_blank=True, help_text="the OCI artifact type; empty for images")
    size = serializers.IntegerField(min_value=0)
    created = serializers.DateTimeField(allow_null=True)
    platforms = serializers.ListField(child=serializers.CharField())
    signatures = AttachedSerializer(many=True)
    attached = ReferrerSerializer(many=True)
    protected = serializers.BooleanField(help_text="a protected-tag rule keeps it from the dashboard's deletes")
    protected_by = serializers.CharField(allow_null=True, help_text="that rule, e.g. protected by rule 3: ...")


class LayerSerializer(serializers.Serializer):
    digest = serializers.CharField()
    size = serializers.IntegerField(min_value=0)
    media_type = serializers.CharField()


class HistoryEntrySerializer(serializers.Serializer):
    created = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)
    empty_layer = serializers.BooleanField()


class ImageConfigSerializer(serializers.Serializer):
    """The image's config blob; an empty object when the image has none (an index)."""

    created = serializers.DateTimeField(allow_null=True, required=False)
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


class PlatformManifestSerializer(serializers.Serializer):
    digest = serializers.CharField()
    platform = serializers.CharField()
    size = serializers.IntegerField(min_value=0)
    media_type = serializers.CharField()


class ImageSerializer(serializers.Serializer):
    """A tag or a manifest: the tag's fields plus layers, config and labels; an index adds manifests."""

    name = serializers.CharField(allow_null=True, help_text="the tag; null when asked by digest")
    repository = serializers.CharField()
    digest = serializers.CharField()
    media_type = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(KINDS))
    artifact_type = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(min_value=0)
    created = serializers.DateTimeField(allow_null=True)
    platforms = serializers.ListField(child=serializers.CharField())
    signatures = AttachedSerializer(many=True)
    attached = ReferrerSerializer(many=True)
    chart = HelmChartSerializer(required=False, help_text="a Helm chart's Chart.yaml fields")
    layers = LayerSerializer(many=True)
    config = ImageConfigSerializer()
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    manifests = PlatformManifestSerializer(many=True, required=False, help_text="an index's platform images")


RepositoryPage = paginated(RepositorySerializer, "PaginatedRepositoryList")
TagPage = paginated(TagSerializer, "PaginatedTagList")


# --- Deletes -------------------------------------------------------------------------------


class IndexRefSerializer(serializers.Serializer):
    digest = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())


class ProtectedOutcomeSerializer(serializers.Serializer):
    tag = serializers.CharField()
    protected_by = serializers.CharField(
        help_text='the rule, e.g. protected by rule 3: repositories "**", tags "^latest$"'
    )


class DeleteRefusedSerializer(serializers.Serializer):
    """409: deleting would remove more than was chosen (other tags share the manifest, or an
    index references it). Nothing was deleted; select those too, or repeat with ?force=true."""

    detail = serializers.CharField()
    digest = serializers.CharField(required=False)
    shared_with = serializers.ListField(child=serializers.CharField(), help_text="other tags on the same manifest")
    referenced_by = IndexRefSerializer(many=True, help_text="multi-arch indexes that list this manifest")
    protected = ProtectedOutcomeSerializer(
        many=True,
        required=False,
        help_text="the protected tags the delete would remove, each with its rule: forcing cannot change this",
    )


class DeletionErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    digest = serializers.CharField(required=False)


class DeleteResultSerializer(serializers.Serializer):
    removed_tags = serializers.ListField(child=serializers.CharField())
    deleted_manifest = serializers.CharField(allow_null=True)


class TagOutcomeSerializer(serializers.Serializer):
    tag = serializers.CharField()
    status = serializers.ChoiceField(choices=["removed", "refused", "not_found", "failed", "planned"])
    digest = serializers.CharField(allow_null=True)
    removed_tags = serializers.ListField(child=serializers.CharField())
    deleted_manifest = serializers.CharField(allow_null=True)
    detail = serializers.CharField(allow_blank=True)
    shared_with = serializers.ListField(child=serializers.CharField())
    referenced_by = IndexRefSerializer(many=True)
    protected_by = serializers.CharField(
        allow_null=True,
        help_text="refused because of this protected-tag rule (or, on 2.x, that of a tag on the same manifest)",
    )


class BulkDeleteResultSerializer(serializers.Serializer):
    repository = serializers.CharField()
    dry_run = serializers.BooleanField()
    force = serializers.BooleanField()
    registry_deletes_tags = serializers.BooleanField(help_text="true on registry:3, which deletes a tag by name")
    results = TagOutcomeSerializer(many=True)
    removed_tags = serializers.ListField(child=serializers.CharField())
    deleted_manifests = serializers.ListField(child=serializers.CharField())
    attached_manifests = serializers.ListField(
        child=serializers.CharField(),
        help_text="artifacts attached by digest (no tag) to a deleted manifest: they go with it, after it",
    )


@extend_schema_field({"type": "string", "pattern": GLOB_PATTERN, "maxLength": GLOB_MAX_LENGTH})
class GlobField(JsonCharField):
    """A repository glob (``core.patterns``): its grammar is in the schema, and a value outside
    it is a 400 naming the field with ``validate_glob``'s message."""


class RegexField(JsonCharField):
    """A tag pattern (an RE2 regular expression, ``core.patterns``); one that does not compile is a 400 naming the
    field. Spaces are kept: they are part of what it matches."""

    #: The request's pattern: no NUL (DRF refuses it); RequiredRegexField also wants a non-space.
    schema_pattern = NO_NUL

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


class RequiredRegexField(RegexField):
    """A tag pattern that must say something: not blank, not only spaces."""

    schema_pattern = SOMETHING


class RegexFieldExtension(OpenApiSerializerFieldExtension):
    """Requests take a regular expression ("format": "regex"); answers give back what is stored.

    minLength 1: where blank is allowed (allow_blank), drf-spectacular adds "" as a oneOf branch
    of its own, and a regex format that admitted "" too would match both branches.
    """

    target_class = RegexField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": REGEX_MAX_LENGTH}
        if direction == "request":
            assert isinstance(self.target, RegexField)
            schema |= {"format": "regex", "pattern": self.target.schema_pattern, "minLength": 1}
        return schema

"""The catalog API's parameters and query serializers, the delete answers' shapes and the
protected-tag rules' pattern fields. What the reads answer is rendered by ``catalog.api.serializers``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from catalog import deletion
from catalog.services import KINDS, ORDERINGS
from core.api.schema import NO_NUL, SOMETHING, JsonCharField
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


class RepositoryQuerySerializer(serializers.Serializer[None]):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=NAME_MAX_LENGTH, help_text="names containing this, any case"
    )


class TagQuerySerializer(serializers.Serializer[None]):
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


class DeleteQuerySerializer(serializers.Serializer[None]):
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


# --- Deletes -------------------------------------------------------------------------------


class IndexRefSerializer(serializers.Serializer[dict[str, Any]]):
    digest = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())


class ProtectedOutcomeSerializer(serializers.Serializer[dict[str, Any]]):
    tag = serializers.CharField()
    protected_by = serializers.CharField(
        help_text='the rule, e.g. protected by rule 3: repositories "**", tags "^latest$"'
    )


class DeleteRefusedSerializer(serializers.Serializer[dict[str, Any]]):
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


class DeletionErrorSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField()
    digest = serializers.CharField(required=False)


class DeleteResultSerializer(serializers.Serializer[deletion.DeleteResult]):
    """What a tag or manifest delete removed (``catalog.deletion.DeleteResult``)."""

    removed_tags = serializers.ListField(child=serializers.CharField())
    deleted_manifest = serializers.CharField(allow_null=True)


class TagOutcomeSerializer(serializers.Serializer[dict[str, Any]]):
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


class BulkDeleteResultSerializer(serializers.Serializer[dict[str, Any]]):
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
    refreshed = serializers.CharField(
        required=False,
        help_text="a dry run's only: present when the inventory could not vouch for itself (an events gap not "
        "covered by a sync, or no sync finished) and the repository was read from the registry first",
    )
    reclaimable_bytes = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="what the next default garbage collection frees once this ran (with prune on registry:3): the "
        "storage picture's reclaimable figure grows by this",
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

"""The retention API's bodies: the policy (validated by its serializer), the preview, the run."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import APIException

from catalog.api.schema import GlobField, RegexField
from core.api.schema import SOMETHING, JsonBooleanField, JsonCharField, StrictSerializer
from maintenance.schedules import CRON_PATTERN
from retention import rules, schedules, services
from retention.models import FIELDS, MAX_COUNT, MAX_DAYS, RetentionPolicy


def _regex(help_text: str) -> RegexField:
    return RegexField(
        required=False, allow_blank=True, max_length=500, validators=[rules.validate_regex], help_text=help_text
    )


def _number(help_text: str, maximum: int) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=maximum, help_text=help_text
    )


@extend_schema_field({"type": "string", "maxLength": 100, "pattern": CRON_PATTERN})
class CronField(JsonCharField):
    """Five cron fields as the GC schedules take them, or "" for no schedule."""


_NAME_MAX_LENGTH = RetentionPolicy._meta.get_field("name").max_length


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": _NAME_MAX_LENGTH, "pattern": SOMETHING})
class PolicyNameField(JsonCharField):
    """A policy's name: a JSON string with something in it (DRF's model CharField takes 0 as "0")."""


class NameTaken(APIException):
    """Another policy has the name: a conflict with what exists (409), not a malformed request."""

    status_code = 409
    default_code = "conflict"


class PolicySerializer(serializers.ModelSerializer[RetentionPolicy], StrictSerializer):
    """A retention policy; invalid globs, regular expressions, numbers or cron are 400s naming the
    field, a name another policy has is a 409."""

    url = serializers.SerializerMethodField()
    name = PolicyNameField(max_length=_NAME_MAX_LENGTH)  # unique: checked in validate_name (409)
    enabled = JsonBooleanField(required=False)
    repositories = serializers.ListField(
        child=GlobField(),
        min_length=1,
        error_messages={"min_length": 'Give at least one repository pattern ("**" matches every repository).'},
        validators=[rules.validate_some_globs],
        help_text='Repository globs: "team/*" one level, "team/**" any depth, "**" every repository.',
    )
    exclude_repositories = serializers.ListField(
        child=GlobField(), required=False, validators=[rules.validate_globs], help_text="Repository globs left out."
    )
    tags = _regex(
        "An RE2 regular expression (re.search; no backreferences or look-arounds) selecting the tags considered; "
        "blank: every tag."
    )
    exclude_tags = _regex("Tags matching this regular expression are not considered (kept).")
    keep_last = _number("Keep the N newest by order_by (tags without that date count as oldest).", MAX_COUNT)
    order_by = serializers.ChoiceField(choices=RetentionPolicy.OrderBy.values, required=False)
    keep_days = _number("Keep tags newer than D days by order_by.", MAX_DAYS)
    keep_pulled_days = _number("Keep tags pulled within D days.", MAX_DAYS)
    keep_tags = _regex("Tags matching this regular expression are always kept.")
    untagged = JsonBooleanField(required=False, help_text="Also delete the manifests the run leaves without a tag.")
    schedule = CronField(
        required=False,
        allow_blank=True,
        max_length=100,
        validators=[rules.validate_cron],
        help_text="A cron expression ('0 3 * * 0'); blank: no schedule.",
    )
    then_gc = JsonBooleanField(required=False, help_text="Run a read-only GC after a run that deleted something.")
    acknowledge_keeps_nothing = JsonBooleanField(
        required=False,
        write_only=True,
        help_text=(
            "Required true to save a policy with no keep rule (keep_last, keep_days, keep_pulled_days, keep_tags): "
            "it deletes every tag it considers. Such a policy is saved with an enabled schedule only once it has "
            "been previewed as it is saved (POST .../preview/), as the page's “I understand” and preview."
        ),
    )
    next_run = serializers.SerializerMethodField()

    class Meta:
        model = RetentionPolicy
        fields = [
            "id",
            "url",
            *FIELDS,
            "acknowledge_keeps_nothing",
            "next_run",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_url(self, policy: RetentionPolicy) -> str:
        request = self.context.get("request")
        path = f"/api/v1/retention-policies/{policy.pk}/"
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_run(self, policy: RetentionPolicy) -> str | None:
        when = schedules.next_run(policy)
        return when.isoformat() if when else None

    def validate_name(self, value: str) -> str:
        others = RetentionPolicy.objects.filter(name=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        taken = others.first()
        if taken is not None:
            raise NameTaken(f'A retention policy named "{value}" exists already (id {taken.pk}): choose another name.')
        return value

    def validate_repositories(self, value: list[str]) -> list[str]:
        return [item.strip() for item in value]

    def validate_exclude_repositories(self, value: list[str]) -> list[str]:
        return [item.strip() for item in value]

    def validate_schedule(self, value: str) -> str:
        return value.strip()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A policy that keeps nothing needs ``acknowledge_keeps_nothing`` and, for an enabled schedule,
        a preview of it as saved: the pages' rule (issue 25), for scripts too (400 naming the field).

        Renaming such a policy, or turning it off, needs neither: nothing more is deleted by that.
        """
        acknowledged = attrs.pop("acknowledge_keeps_nothing", False)
        policy = self.instance if isinstance(self.instance, RetentionPolicy) else None
        saved = {name: getattr(policy, name) for name in FIELDS} if policy is not None else {}
        values = {**saved, **attrs}
        if policy is None:
            # The model's defaults for what a new policy leaves out.
            values.setdefault("enabled", RetentionPolicy._meta.get_field("enabled").get_default())
            values.setdefault("schedule", "")
        if not services.keeps_nothing(values):
            return attrs
        changed = {name for name, value in attrs.items() if policy is None or saved.get(name) != value}
        harmless = policy is not None and (
            changed <= {"name"} or (changed <= {"name", "enabled"} and not values["enabled"])
        )
        if harmless:
            return attrs
        if not acknowledged:
            raise serializers.ValidationError(
                {
                    "acknowledge_keeps_nothing": (
                        "This policy keeps no tag: every tag it considers is deleted. Add a keep rule (keep_last, "
                        "keep_days, keep_pulled_days or keep_tags), or send acknowledge_keeps_nothing: true."
                    )
                }
            )
        if values.get("enabled") and values.get("schedule") and (policy is None or not services.was_previewed(policy)):
            raise serializers.ValidationError(
                {
                    "schedule": (
                        "A policy that keeps nothing runs on a schedule only once it has been previewed as saved: save "
                        "it without the schedule (or with enabled false), POST .../preview/, then set the schedule."
                    )
                }
            )
        return attrs


class EntrySerializer(serializers.Serializer[dict[str, Any]]):
    tag = serializers.CharField()
    digest = serializers.CharField()
    reason = serializers.CharField()


class RepositoryPreviewSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField()
    delete = EntrySerializer(many=True, help_text="the tags the run deletes")
    keep = EntrySerializer(many=True, help_text="the tags that stay")


class PreviewSerializer(serializers.Serializer[Any]):  # reads a retention.plan.Plan
    repositories = RepositoryPreviewSerializer(many=True)
    tags = serializers.IntegerField(help_text="tags deleted")
    manifests = serializers.IntegerField(help_text="manifests deleted by digest")
    bytes = serializers.IntegerField(help_text="what a garbage collection after the run frees")
    fingerprint = serializers.CharField(help_text="send it to run/: a registry changed since is refused")
    refreshed = serializers.CharField(
        required=False,
        help_text="present when the inventory could not vouch for itself (an events gap not covered by a sync, "
        "or no sync finished): how many repositories were read from the registry first, and why",
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        """``refreshed`` only when the repositories were read from the registry first."""
        data: dict[str, Any] = super().to_representation(instance)
        if not data.get("refreshed"):
            data.pop("refreshed", None)
        return data


class RunRequestSerializer(StrictSerializer):
    fingerprint = JsonCharField(
        required=False, allow_blank=True, max_length=64, help_text="the preview's: refused (409) if the plan changed"
    )


class RunConflictSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField()
    job = serializers.DictField(required=False, help_text="the job in the way: {id, url, page, status}")

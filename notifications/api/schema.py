"""The notifications API's bodies: channels (their URL written, never read back whole), rules, deliveries."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import APIException

from catalog.api.schema import GlobField, RegexField
from core.api.schema import SOMETHING, JsonBooleanField, JsonCharField, StrictSerializer
from notifications import topics, validation
from notifications.masking import mask_url
from notifications.models import Channel, Delivery, Rule

_NAME_MAX = 100


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": _NAME_MAX, "pattern": SOMETHING})
class NameField(JsonCharField):
    """A name: a JSON string with something in it."""


def _check(function: Any, value: Any) -> Any:
    try:
        return function(value)
    except ValueError as e:
        raise serializers.ValidationError(str(e)) from None


class ChannelSerializer(serializers.ModelSerializer[Channel], StrictSerializer):
    """A channel. ``url`` is written only: answers give ``masked_url``; ``secret`` (webhooks) comes once,
    in the answer that made it."""

    name = NameField(max_length=_NAME_MAX)
    kind = serializers.ChoiceField(choices=Channel.Kind.choices)
    url = JsonCharField(
        write_only=True,
        max_length=validation.URL_MAX_LENGTH,
        required=False,
        help_text="An Apprise URL (discord://…, ntfy://…, mailto://…, json://…) or, for a webhook, http(s)://…. "
        "Required when creating; never returned.",
    )
    masked_url = serializers.SerializerMethodField()
    cloudevents = JsonBooleanField(required=False, help_text="Webhooks: a CloudEvents 1.0 structured body.")
    enabled = JsonBooleanField(required=False)
    failing = serializers.BooleanField(read_only=True)
    page = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "masked_url",
            "cloudevents",
            "enabled",
            "failing",
            "failing_since",
            "consecutive_failures",
            "last_error",
            "last_success_at",
            "page",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "failing_since",
            "consecutive_failures",
            "last_error",
            "last_success_at",
            "created_at",
            "updated_at",
        ]

    def get_masked_url(self, channel: Channel) -> str:
        return mask_url(channel.url)

    def get_page(self, channel: Channel) -> str:
        request = self.context.get("request")
        path = channel.get_absolute_url()
        return request.build_absolute_uri(path) if request else path

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance if isinstance(self.instance, Channel) else None
        kind = attrs.get("kind", instance.kind if instance else None)
        url = attrs.get("url", instance.url if instance else None)
        if url is None:
            raise serializers.ValidationError({"url": "Give the channel's URL."})
        if "url" in attrs or "kind" in attrs:
            request = self.context.get("request")
            host = request.get_host() if request is not None else None
            try:
                attrs["url"] = validation.validate_url(str(kind), url, host)
            except ValueError as e:
                raise serializers.ValidationError({"url": str(e)}) from None
        if kind != Channel.Kind.WEBHOOK and attrs.get("cloudevents"):
            raise serializers.ValidationError({"cloudevents": "Only a webhook channel sends CloudEvents."})
        return attrs


class CreatedChannelSerializer(ChannelSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Webhooks: the HMAC-SHA256 signing key, shown only in this answer."
    )

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer[Any]):
    secret = serializers.CharField(help_text="The new signing key, shown only in this answer.")


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "rule",
            "topic",
            "title",
            "text",
            "link",
            "status",
            "attempts",
            "status_code",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class ChannelMissing(APIException):
    """A rule names a channel that does not exist (any more): a conflict with what exists, as a name taken is."""

    status_code = 409
    default_code = "conflict"


class ChannelReference(serializers.PrimaryKeyRelatedField[Channel]):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, int) and not isinstance(data, bool) and not Channel.objects.filter(pk=data).exists():
            raise ChannelMissing(f"There is no notification channel {data}: see /api/v1/notifications/channels/.")
        return super().to_internal_value(data)


class RuleSerializer(serializers.ModelSerializer[Rule], StrictSerializer):
    """A rule: which topics go to which channel; repository globs and a tag expression narrow push and delete."""

    name = NameField(max_length=_NAME_MAX)
    channel = ChannelReference(queryset=Channel.objects.all(), help_text="The channel's id (409 if there is none).")
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=list(topics.TOPICS)),
        min_length=1,
        help_text="; ".join(f"{key}: {label}" for key, label in topics.TOPICS.items()),
    )
    repositories = serializers.ListField(
        child=GlobField(), required=False, max_length=50, help_text='Repository globs ("prod/**"); empty: all.'
    )
    tags = RegexField(required=False, allow_blank=True, max_length=500, help_text="Tags matching this (re.search).")
    disk_threshold = serializers.IntegerField(required=False, min_value=1, max_value=100)
    digest_minutes = serializers.IntegerField(
        required=False, min_value=0, max_value=1440, help_text="0: each event; N: one message per N minutes."
    )
    enabled = JsonBooleanField(required=False)

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "channel",
            "topics",
            "repositories",
            "tags",
            "disk_threshold",
            "digest_minutes",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_topics(self, value: list[str]) -> list[str]:
        return list(_check(validation.validate_topics, value))

    def validate_repositories(self, value: list[str]) -> list[str]:
        return list(_check(validation.validate_globs, value))

    def validate_tags(self, value: str) -> str:
        return str(_check(validation.validate_tags, value))

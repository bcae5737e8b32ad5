"""The access API's bodies: robots (with their rules), anonymous-pull rules, token requests."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from access import services
from access.models import ACTIONS, Robot, TokenRequest
from catalog.api.schema import GlobField
from core import patterns
from core.api.schema import JsonBooleanField, JsonCharField, StrictSerializer


def _checked(validate: Any, value: Any) -> Any:
    try:
        return validate(value)
    except ValueError as e:
        raise serializers.ValidationError(str(e)) from e


class RobotRuleSerializer(StrictSerializer):
    repositories = GlobField(
        max_length=patterns.GLOB_MAX_LENGTH,
        help_text='a repository glob: a name, "team/*" (one level), "team/**" (any depth), "**" (all)',
    )
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=ACTIONS), min_length=1, max_length=3, help_text="pull, push, delete"
    )

    def validate_repositories(self, value: str) -> str:
        return str(_checked(patterns.validate_glob, value))


@extend_schema_field({"type": "string", "pattern": f"^{services.NAME_PATTERN}$", "maxLength": 64})
class RobotNameField(JsonCharField):
    """A robot's name: it logs in as robot$NAME."""


class RobotCreateSerializer(StrictSerializer):
    name = RobotNameField(max_length=64)
    description = JsonCharField(max_length=200, required=False, allow_blank=True)
    rules = serializers.ListField(child=RobotRuleSerializer(), max_length=services.MAX_RULES)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="empty or null: never")

    def validate_name(self, value: str) -> str:
        return str(_checked(services.validate_name, value))

    def validate_expires_at(self, value: Any) -> Any:
        return _checked(services.validate_expiry, value)


class RobotChangeSerializer(StrictSerializer):
    description = JsonCharField(max_length=200, required=False, allow_blank=True)
    rules = serializers.ListField(child=RobotRuleSerializer(), max_length=services.MAX_RULES, required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="null: never")

    def validate_expires_at(self, value: Any) -> Any:
        return _checked(services.validate_expiry, value)


class RobotSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    login = serializers.CharField(help_text="the user name for docker login: robot$NAME")
    description = serializers.CharField()
    rules = RobotRuleSerializer(many=True)
    state = serializers.ChoiceField(choices=["active", "expired", "revoked"])
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class RobotCreatedSerializer(RobotSerializer):
    secret = serializers.CharField(help_text="the password for docker login: shown only in this answer")


def robot_dict(robot: Robot) -> dict[str, Any]:
    return {
        "id": robot.pk,
        "name": robot.name,
        "login": robot.login,
        "description": robot.description,
        "rules": [{"repositories": rule.repositories, "actions": rule.action_list()} for rule in robot.rules.all()],
        "state": robot.state,
        "created_at": robot.created_at.isoformat(),
        "created_by": robot.created_by.get_username() if robot.created_by else None,
        "expires_at": robot.expires_at.isoformat() if robot.expires_at else None,
        "last_used_at": robot.last_used_at.isoformat() if robot.last_used_at else None,
        "revoked_at": robot.revoked_at.isoformat() if robot.revoked_at else None,
    }


class AnonymousRuleRequestSerializer(StrictSerializer):
    repositories = GlobField(max_length=patterns.GLOB_MAX_LENGTH, help_text="a repository glob anyone may pull")

    def validate_repositories(self, value: str) -> str:
        return str(_checked(patterns.validate_glob, value))


# A rule as the API answers it, rendered from the model.
class AnonymousRuleSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    repositories = serializers.CharField()
    created_at = serializers.DateTimeField()


class TokenRequestSerializer(serializers.ModelSerializer[TokenRequest]):
    class Meta:
        model = TokenRequest
        fields = ["id", "created_at", "account", "kind", "address", "service", "asked", "granted", "refused", "outcome"]


class TokenRequestQuerySerializer(StrictSerializer):
    account = serializers.CharField(required=False, max_length=200, help_text="exactly this account")
    outcome = serializers.ChoiceField(required=False, choices=TokenRequest.Outcome.choices)


class RegistryLoginRequestSerializer(StrictSerializer):
    enabled = JsonBooleanField(help_text="true: require login (token auth by this dashboard); false: stop requiring it")

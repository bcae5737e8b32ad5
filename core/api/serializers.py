"""The API's response shapes that every app shares: the audit log's entries and the fields the
apps' serializers render with (their answers keep the JSON they have always had)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from core.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "via",
            "ip",
            "action",
            "repository",
            "tag",
            "digest",
            "outcome",
            "detail",
            "registry_response",
        ]


class IsoDateTimeField(serializers.DateTimeField):
    """A time as ``datetime.isoformat()`` writes it (``2024-05-01T10:00:00+00:00``), as the API's
    answers have always given it: DRF's own field writes ``Z`` and converts to the current zone."""

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class TextOrNullField(serializers.CharField):
    """A text that is null in the answer when it is empty (a tag an artifact pushed by digest lacks)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return super().get_attribute(instance) or None  # a serializer renders None as null


class PresenceField(serializers.BooleanField):
    """true when the source holds something (a rule's sentence), false when it is empty."""

    def to_representation(self, value: Any) -> bool:
        return bool(value)


class ApiURLField(serializers.URLField):
    """An object's address in the API, from its id (``path`` holds ``{}`` for it); absolute when
    the serializer's context has the request, as every view gives it."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        self.path = path
        super().__init__(**kwargs)

    def to_representation(self, value: object) -> str:
        path = self.path.format(value)
        request = self.context.get("request")
        return str(request.build_absolute_uri(path)) if request is not None else path

"""Maintenance's API shapes: the request bodies, and the serializers that render the answers
(statistics and their history, the registry container's actions, diagnostics) and are their
schema; see ``core.api.schema`` for the pattern."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from core.api.schema import StrictSerializer
from core.api.serializers import ApiURLField, IsoDateTimeField
from core.checks import ERROR, OK, WARNING, Check
from jobs.api.serializers import JobBusySerializer, JobReferenceSerializer  # noqa: F401 - documented here too
from maintenance import diagnostics, gc_requests, schedules, snapshot, stats
from maintenance.models import StatsSample


class GcRequestSerializer(StrictSerializer):
    dry_run = serializers.BooleanField(default=False, help_text="report what would be freed, free nothing")
    delete_untagged = serializers.BooleanField(
        default=False, help_text="also remove manifests no tag points to (refused on Distribution 2.x)"
    )
    mode = serializers.ChoiceField(choices=list(gc_requests.MODES), default="read-only")


class GcConflictSerializer(JobBusySerializer):
    delete_untagged = serializers.CharField(required=False, help_text="why this registry cannot delete untagged")


class ScheduleParamsSerializer(StrictSerializer):
    dry_run = serializers.BooleanField(default=False)
    delete_untagged = serializers.BooleanField(default=False)
    mode = serializers.ChoiceField(choices=list(gc_requests.MODES), default="read-only")


class ScheduleRequestSerializer(StrictSerializer):
    task = serializers.ChoiceField(choices=list(schedules.TASKS), default="gc")
    cron = serializers.RegexField(
        schedules.CRON_PATTERN,
        help_text=(
            "five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 0'; days of the month "
            "29 to 31 are taken too, in months that have them"
        ),
    )
    enabled = serializers.BooleanField(default=True)
    params = ScheduleParamsSerializer(required=False)


class ScheduleSerializer(serializers.Serializer[schedules.Schedule]):
    id = serializers.IntegerField()
    url = ApiURLField("/api/v1/schedules/{}/", source="id")
    task = serializers.CharField()
    cron = serializers.CharField(allow_blank=True)
    enabled = serializers.BooleanField()
    params = serializers.DictField()
    next_run = IsoDateTimeField(allow_null=True)
    last_run = IsoDateTimeField(allow_null=True)
    total_run_count = serializers.IntegerField(min_value=0)


@extend_schema_field({"type": "string"})
class ContainerStatusField(serializers.Field[snapshot.Snapshot, object, str | None, snapshot.Snapshot]):
    """The container's status as the worker saw it; "missing" when it could not be inspected,
    "unknown" while no worker has described it (an empty snapshot)."""

    def to_representation(self, seen: snapshot.Snapshot) -> str | None:
        if not seen:
            return "unknown"
        if not seen.get("ok"):
            return "missing"
        return seen.get("status")


class ContainerSerializer(serializers.Serializer[snapshot.Snapshot]):
    """The registry container from a worker's ``snapshot.Snapshot`` (``{}`` while no worker has
    described it: every field null, status unknown, no checked_at); ``error`` only when it is missing."""

    name = serializers.CharField(allow_null=True)
    status = ContainerStatusField(
        source="*", help_text="running, paused, exited, ...; missing or unknown when not seen"
    )
    image = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    started_at = serializers.CharField(allow_null=True)
    error = serializers.CharField(required=False)
    checked_at = serializers.FloatField(allow_null=True, required=False)

    def to_representation(self, seen: snapshot.Snapshot) -> dict[str, Any]:
        answer: dict[str, Any] = super().to_representation(seen)
        if not seen:
            answer.pop("checked_at", None)
        if not seen or seen.get("ok"):
            answer.pop("error", None)
        return answer


def _figure_field(name: str, required: bool) -> serializers.Field[Any, Any, Any, Any]:
    """A sample's figure, null where it could not be read: the CPU a percentage, the rest counts."""
    if name == "cpu_percent":
        return serializers.FloatField(allow_null=True, required=required)
    return serializers.IntegerField(allow_null=True, required=required)


class SampleSerializer(serializers.Serializer[StatsSample]):
    """A statistics sample: ``collected_at`` and its figures; only those named by the context's
    ``fields`` when it has them (the history's choice)."""

    collected_at = IsoDateTimeField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields: dict[str, serializers.Field[Any, Any, Any, Any]] = super().get_fields()
        asked = self.context.get("fields")
        if asked is None:
            return fields
        return {name: field for name, field in fields.items() if name == "collected_at" or name in asked}


def _sample_serializer(name: str, fields: tuple[str, ...], required: bool, doc: str) -> type[SampleSerializer]:
    attrs: dict[str, object] = {"__doc__": doc, **{field: _figure_field(field, required) for field in fields}}
    return type(name, (SampleSerializer,), attrs)


LatestSampleSerializer = _sample_serializer(
    "LatestSampleSerializer", stats.LATEST_FIELDS, True, "The newest sample's figures, null where not read."
)
HistorySampleSerializer = _sample_serializer(
    "HistorySampleSerializer", stats.SAMPLE_FIELDS, False, "One sample: collected_at and the fields asked for."
)


class StatsSerializer(serializers.Serializer[dict[str, Any]]):
    """``{"container": snapshot or {}, "latest": sample or None}``."""

    container = ContainerSerializer()
    latest = LatestSampleSerializer(allow_null=True)


class HistorySerializer(serializers.Serializer[dict[str, Any]]):
    """``{"since", "fields", "count", "results": samples}``; the samples render only ``fields``."""

    since = IsoDateTimeField()
    fields = serializers.ListField(  # type: ignore[assignment]  # the API's field name; DRF's metaclass takes it
        child=serializers.ChoiceField(choices=list(stats.SAMPLE_FIELDS))
    )
    count = serializers.IntegerField(min_value=0)
    results = HistorySampleSerializer(many=True)


class PauseRequestSerializer(StrictSerializer):
    seconds = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=snapshot.MAX_PAUSE_SECONDS,
        help_text="resume by itself after this long; default SNAPSHOT_PAUSE_SECONDS",
    )


class ContainerActionSerializer(serializers.Serializer[dict[str, Any]]):
    """A worker's answer to pause, unpause or restart (``maintenance.container_actions``), or
    ``{"status": "requested", "detail"}`` while no worker answered; absent fields are left out."""

    status = serializers.CharField(help_text="paused, running, unchanged; requested while no worker answered")
    detail = serializers.CharField(required=False)
    paused_until = serializers.DateTimeField(required=False)
    already = serializers.BooleanField(required=False)


class DiagnosticCheckSerializer(serializers.Serializer[Check]):
    id = serializers.CharField()
    title = serializers.CharField()
    ok = serializers.BooleanField()
    level = serializers.ChoiceField(choices=[OK, WARNING, ERROR])
    detail = serializers.CharField(allow_blank=True)
    advice = serializers.CharField(allow_blank=True)
    snippet = serializers.CharField(allow_blank=True)


class DiagnosticsSerializer(serializers.Serializer[diagnostics.Report]):
    ok = serializers.BooleanField()
    checked_at = serializers.FloatField()
    container = serializers.CharField()
    errors = serializers.IntegerField(  # type: ignore[assignment]  # the API's field name
        source="error_count", min_value=0
    )
    warnings = serializers.IntegerField(source="warning_count", min_value=0)
    checks = DiagnosticCheckSerializer(many=True)


@extend_schema_field({"type": "string", "format": "date-time"})
class TimestampField(serializers.Field[dt.datetime, object, str, object]):
    """ISO 8601 as ``stats.parse_timestamp`` reads it: a date alone, or a time with or without offset."""

    def to_internal_value(self, data: object) -> dt.datetime:
        since = stats.parse_timestamp(data) if isinstance(data, str) and data else None
        if since is None:
            raise serializers.ValidationError(
                f"{str(data)[:40]!r} is not an ISO 8601 date or time, e.g. 2026-01-31T12:00:00Z "
                "(write a + in a UTC offset as %2B in the URL)."
            )
        return since


@extend_schema_field(str)  # the schema's parameter is HISTORY_FIELDS_PARAMETER, an array
class SampleFieldsField(serializers.Field[list[str], object, str, object]):
    """Comma-separated names from ``stats.SAMPLE_FIELDS``, each once."""

    def to_internal_value(self, data: object) -> list[str]:
        names = [name.strip() for name in data.split(",") if name.strip()] if isinstance(data, str) else []
        unknown = [name for name in names if name not in stats.SAMPLE_FIELDS]
        if unknown or not names:
            raise serializers.ValidationError(
                f"Unknown field(s) {', '.join(unknown)[:200] or '(none)'}; "
                f"choose from {', '.join(stats.SAMPLE_FIELDS)}."
            )
        return list(dict.fromkeys(names))


class HistoryQuerySerializer(serializers.Serializer[None]):
    since = TimestampField(required=False, help_text="ISO 8601; default 24 hours ago")
    fields = SampleFieldsField(  # type: ignore[assignment]  # the parameter's name; DRF's metaclass takes it
        required=False, help_text="comma-separated; default all"
    )


HISTORY_FIELDS_PARAMETER = OpenApiParameter(
    "fields",
    {"type": "array", "items": {"type": "string", "enum": list(stats.SAMPLE_FIELDS)}, "minItems": 1},
    OpenApiParameter.QUERY,
    style="form",
    explode=False,
    description="Comma-separated sample fields; default all.",
)

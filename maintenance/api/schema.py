"""Documentation serializers for maintenance's hand-built JSON (GC, schedules, statistics,
the registry container's actions, diagnostics); see ``core.api.schema`` for the pattern."""

from __future__ import annotations

from rest_framework import serializers

from core.api.schema import paginated
from maintenance import container, diagnostics, gc, schedules, stats


class GcRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text="report what would be freed, free nothing")
    delete_untagged = serializers.BooleanField(
        default=False, help_text="also remove manifests no tag points to (refused on Distribution 2.x)"
    )
    mode = serializers.ChoiceField(choices=list(gc.MODES), default="read-only")


class JobReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="the job in the API")
    page = serializers.URLField(help_text="the job's page in the dashboard")
    status = serializers.CharField()


class GcConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    job = JobReferenceSerializer(required=False, help_text="the GC that is already queued or running")


class ScheduleParamsSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)
    delete_untagged = serializers.BooleanField(default=False)
    mode = serializers.ChoiceField(choices=list(gc.MODES), default="read-only")


class ScheduleRequestSerializer(serializers.Serializer):
    task = serializers.ChoiceField(choices=list(schedules.TASKS), default="gc")
    cron = serializers.CharField(help_text="five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 0'")
    enabled = serializers.BooleanField(default=True)
    params = ScheduleParamsSerializer(required=False)


class ScheduleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    task = serializers.CharField()
    cron = serializers.CharField(allow_blank=True)
    enabled = serializers.BooleanField()
    params = serializers.DictField()
    next_run = serializers.DateTimeField(allow_null=True)
    last_run = serializers.DateTimeField(allow_null=True)
    total_run_count = serializers.IntegerField(min_value=0)


SchedulePage = paginated(ScheduleSerializer, "PaginatedScheduleList")


class ContainerSerializer(serializers.Serializer):
    name = serializers.CharField(allow_null=True)
    status = serializers.CharField(help_text="running, paused, exited, ...; missing or unknown when not seen")
    image = serializers.CharField(allow_null=True)
    version = serializers.CharField(allow_null=True)
    started_at = serializers.CharField(allow_null=True)
    error = serializers.CharField(required=False)
    checked_at = serializers.FloatField(allow_null=True, required=False)


def _sample_serializer(name: str, fields: tuple[str, ...], required: bool, doc: str) -> type[serializers.Serializer]:
    """A sample: ``collected_at`` and the figures (null when they could not be read)."""
    attrs: dict[str, object] = {"__doc__": doc, "collected_at": serializers.DateTimeField()}
    for field in fields:
        attrs[field] = serializers.FloatField(allow_null=True, required=required)
    return type(name, (serializers.Serializer,), attrs)


LatestSampleSerializer = _sample_serializer(
    "LatestSampleSerializer", stats.LATEST_FIELDS, True, "The newest sample's figures, null where not read."
)
HistorySampleSerializer = _sample_serializer(
    "HistorySampleSerializer", stats.SAMPLE_FIELDS, False, "One sample: collected_at and the fields asked for."
)


class StatsSerializer(serializers.Serializer):
    container = ContainerSerializer()
    latest = LatestSampleSerializer(allow_null=True)


class HistorySerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    fields = serializers.ListField(child=serializers.ChoiceField(choices=list(stats.SAMPLE_FIELDS)))
    count = serializers.IntegerField(min_value=0)
    results = HistorySampleSerializer(many=True)


class PauseRequestSerializer(serializers.Serializer):
    seconds = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=container.MAX_PAUSE_SECONDS,
        help_text="resume by itself after this long; default SNAPSHOT_PAUSE_SECONDS",
    )


class ContainerActionSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="paused, running, unchanged; requested while no worker answered")
    detail = serializers.CharField(required=False)
    paused_until = serializers.DateTimeField(required=False)
    already = serializers.BooleanField(required=False)


class DiagnosticCheckSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    ok = serializers.BooleanField()
    level = serializers.ChoiceField(choices=[diagnostics.OK, diagnostics.WARNING, diagnostics.ERROR])
    detail = serializers.CharField(allow_blank=True)
    advice = serializers.CharField(allow_blank=True)
    snippet = serializers.CharField(allow_blank=True)


class DiagnosticsSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked_at = serializers.FloatField()
    container = serializers.CharField()
    errors = serializers.IntegerField(min_value=0)
    warnings = serializers.IntegerField(min_value=0)
    checks = DiagnosticCheckSerializer(many=True)

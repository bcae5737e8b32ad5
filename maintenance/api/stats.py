"""Statistics, the registry container's actions and the diagnostics, over the REST API.

POST /api/v1/stats/collect/           -> 202 the queued statistics job (operators)
GET  /api/v1/stats/                   -> the container and the latest sample
GET  /api/v1/stats/history/?since=&fields=
POST /api/v1/registry/pause/|unpause/|restart/   (operators)
GET  /api/v1/diagnostics/             -> the checks, each with ok and advice
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import body, errors, query
from core.errors import ActionableError
from core.permissions import IsOperator
from jobs.api.serializers import JobSerializer
from maintenance import services, snapshot, stats
from maintenance.api import schema

_ACTION_RESPONSES = {
    200: schema.ContainerActionSerializer,
    202: OpenApiResponse(schema.ContainerActionSerializer, description="No worker answered in time; it may still act."),
    **errors(409),
}


@extend_schema(summary="Collect statistics now", request=None, responses={202: JobSerializer})
@api_view(["POST"])
@permission_classes([IsOperator])
def collect(request: Request) -> Response:
    job = services.collect_stats(request)  # JobRequestError carries its status (503 without Redis)
    return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="The registry container and the newest statistics sample", responses={200: schema.StatsSerializer}
)
@api_view(["GET"])
def latest(request: Request) -> Response:
    """The container as a worker last saw it (asked afresh when older than a minute) and the newest sample."""
    seen = services.container_snapshot(max_age=60, wait=3)
    return Response(schema.StatsSerializer({"container": seen or {}, "latest": stats.latest()}).data)


@extend_schema(
    summary="Statistics samples since a time",
    parameters=[schema.HistoryQuerySerializer, schema.HISTORY_FIELDS_PARAMETER],
    responses={200: schema.HistorySerializer, **errors(400)},
)
@api_view(["GET"])
def history(request: Request) -> Response:
    """Samples since ``since`` (ISO 8601; default 24 hours ago), oldest first, with ``fields`` only."""
    params = query(schema.HistoryQuerySerializer, request)
    since = params.get("since") or parse_since(None)
    fields = params.get("fields") or parse_fields(None)
    samples = list(stats.samples_since(since, fields))
    answer = {"since": since, "fields": fields, "count": len(samples), "results": samples}
    return Response(schema.HistorySerializer(answer, context={"fields": fields}).data)


def parse_since(raw: str | None) -> Any:
    if not raw:
        return timezone.now() - timedelta(hours=24)
    since = stats.parse_timestamp(raw)
    if since is None:
        raise ValidationError(
            {
                "since": f"'{raw}' is not an ISO 8601 date or time, e.g. 2026-01-31T12:00:00Z "
                "(write a + in a UTC offset as %2B in the URL)."
            }
        )
    return since


def parse_fields(raw: str | None) -> list[str]:
    if not raw:
        return list(stats.SAMPLE_FIELDS)
    fields = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in fields if name not in stats.SAMPLE_FIELDS]
    if unknown or not fields:
        known = ", ".join(stats.SAMPLE_FIELDS)
        raise ValidationError({"fields": f"Unknown field(s) {', '.join(unknown) or '(none)'}; choose from {known}."})
    return list(dict.fromkeys(fields))


@extend_schema(
    summary="Prepare for snapshot: pause the registry",
    request=schema.PauseRequestSerializer,
    responses={**_ACTION_RESPONSES, **errors(400)},
)
@api_view(["POST"])
@permission_classes([IsOperator])
def pause(request: Request) -> Response:
    """Prepare for snapshot: pause the registry; it resumes by itself after ``seconds``.

    ``seconds`` defaults to SNAPSHOT_PAUSE_SECONDS.
    """
    values = body(schema.PauseRequestSerializer, request)
    try:
        seconds = snapshot.pause_seconds(values.get("seconds"))
    except ValueError as e:
        raise ValidationError({"seconds": str(e)}) from None
    return _act("pause", request, seconds)


@extend_schema(summary="Resume the paused registry", request=None, responses=_ACTION_RESPONSES)
@api_view(["POST"])
@permission_classes([IsOperator])
def unpause(request: Request) -> Response:
    return _act("unpause", request)


@extend_schema(summary="Restart the registry container", request=None, responses=_ACTION_RESPONSES)
@api_view(["POST"])
@permission_classes([IsOperator])
def restart(request: Request) -> Response:
    return _act("restart", request)


def _act(action: str, request: Request, *args: Any) -> Response:
    """Ask a worker to act; 200 with its answer, 409 when the engine refused, 202 while no worker answered."""
    reply = services.container_action(action, request, *args)
    if reply.result is None:
        detail = snapshot.NO_WORKER.format(wait=services.ACTION_WAIT[action])
        requested = {"status": "requested", "detail": detail}
        return Response(schema.ContainerActionSerializer(requested).data, status=status.HTTP_202_ACCEPTED)
    if not reply.result.get("ok"):
        raise ActionableError(reply.result.get("error", ""), status=status.HTTP_409_CONFLICT)
    return Response(schema.ContainerActionSerializer(reply.result).data)


@extend_schema(summary="Check the registry's configuration", responses={200: schema.DiagnosticsSerializer})
@api_view(["GET"])
def diagnostics_view(request: Request) -> Response:
    return Response(schema.DiagnosticsSerializer(services.diagnostics_report()).data)


urlpatterns = [
    path("stats/", latest, name="api-stats"),
    path("stats/collect/", collect, name="api-stats-collect"),
    path("stats/history/", history, name="api-stats-history"),
    path("registry/pause/", pause, name="api-registry-pause"),
    path("registry/unpause/", unpause, name="api-registry-unpause"),
    path("registry/restart/", restart, name="api-registry-restart"),
    path("diagnostics/", diagnostics_view, name="api-diagnostics"),
]

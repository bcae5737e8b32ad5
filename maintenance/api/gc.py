"""POST /api/v1/gc/ and /api/v1/schedules/: start garbage collections and schedule them."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django_celery_beat.models import PeriodicTask
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors
from core.pagination import PageNumberPagination
from core.permissions import IsOperator, ViewerReadsAdminWrites
from jobs import services as job_services
from jobs.api import answers
from jobs.api.serializers import JobReferenceSerializer
from maintenance import gc_requests, schedules, services
from maintenance.api import schema


class GarbageCollectionView(APIView):
    """POST {"dry_run", "delete_untagged", "mode"} -> 202 with the queued job; 409 when one runs."""

    permission_classes = [IsOperator]

    @extend_schema(
        summary="Start a garbage collection",
        request=schema.GcRequestSerializer,
        responses={
            202: JobReferenceSerializer,
            **errors(400, 503),
            409: OpenApiResponse(
                schema.GcConflictSerializer,
                description="A GC is already queued or running, or delete_untagged on a Distribution 2.x registry.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if request.data is None:  # a JSON null body; no body at all is {} (the defaults)
            return Response({"non_field_errors": "Expected a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            params = gc_requests.GcParams.parse(request.data)
        except gc_requests.GcParamsInvalid as e:
            return Response(e.errors, status=status.HTTP_400_BAD_REQUEST)
        try:
            job = services.queue_gc(params, request)
        except job_services.JobBusy as e:
            return answers.busy(request, e)
        except job_services.JobRequestError as e:
            return answers.refused(request, e, status.HTTP_400_BAD_REQUEST)
        except gc_requests.GcError as e:
            if params.delete_untagged and "--delete-untagged" in e.message:
                # A well-formed request this registry's version cannot carry out: a conflict, not bad input.
                body = {"detail": e.message, "delete_untagged": e.message}
                return Response(body, status=status.HTTP_409_CONFLICT)
            return Response({"detail": e.message}, status=status.HTTP_400_BAD_REQUEST)
        return answers.queued(request, job)


def schedule_dict(request: Request, task: PeriodicTask) -> dict[str, Any]:
    next_run = schedules.next_run(task)
    return {
        "id": task.pk,
        "url": request.build_absolute_uri(f"/api/v1/schedules/{task.pk}/"),
        "task": schedules.TASK_NAMES.get(task.task, task.task),
        "cron": schedules.cron_of(task),
        "enabled": task.enabled,
        "params": schedules.params_of(task),
        "next_run": next_run.isoformat() if next_run else None,
        "last_run": task.last_run_at.isoformat() if task.last_run_at else None,
        "total_run_count": task.total_run_count,
    }


_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The schedule's id.")


@extend_schema_view(
    list=extend_schema(
        summary="List GC schedules", responses={200: schema.ScheduleSerializer(many=True), **errors(400, 404)}
    ),
    retrieve=extend_schema(
        summary="A GC schedule", parameters=[_ID], responses={200: schema.ScheduleSerializer, **errors(404)}
    ),
    create=extend_schema(
        summary="Schedule garbage collections (admins)",
        request=schema.ScheduleRequestSerializer,
        responses={201: schema.ScheduleSerializer, **errors(400)},
    ),
    update=extend_schema(
        summary="Replace a GC schedule (admins): cron is required, absent fields take their defaults",
        parameters=[_ID],
        request=schema.ScheduleRequestSerializer,
        responses={200: schema.ScheduleSerializer, **errors(400, 404)},
    ),
    partial_update=extend_schema(
        summary="Change some of a GC schedule (admins)",
        parameters=[_ID],
        request=schema.ScheduleRequestSerializer(partial=True),
        responses={200: schema.ScheduleSerializer, **errors(400, 404)},
    ),
    destroy=extend_schema(
        summary="Remove a GC schedule (admins)", parameters=[_ID], responses={204: None, **errors(404)}
    ),
)
class ScheduleViewSet(viewsets.ViewSet):
    """GET/POST /api/v1/schedules/, GET/PATCH/PUT/DELETE /api/v1/schedules/{id}/ (admins change)."""

    permission_classes = [ViewerReadsAdminWrites]
    pagination_class = PageNumberPagination  # what list() pages with; the schema reads it here
    lookup_value_regex = "[^/]+"  # any id reaches _get: not a number is a JSON 404, not the HTML page

    def list(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(schedules.all_schedules(), request, view=self)
        return paginator.get_paginated_response([schedule_dict(request, t) for t in page or []])

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(schedule_dict(request, self._get(pk)))

    def create(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            return Response({"non_field_errors": "Expected a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            task = services.create_schedule(data, request)
        except schedules.ScheduleInvalid as e:
            return Response(e.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(schedule_dict(request, task), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, pk, partial=True)

    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, pk, partial=False)

    def _change(self, request: Request, pk: str | None, partial: bool) -> Response:
        task = self._get(pk)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            return Response({"non_field_errors": "Expected a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        try:
            task = services.change_schedule(task, data, request, partial=partial)
        except schedules.ScheduleInvalid as e:
            return Response(e.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(schedule_dict(request, task))

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.delete_schedule(self._get(pk), request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _get(self, pk: str | None) -> PeriodicTask:
        return get_object_or_404(schedules.all_schedules(), pk=int(pk) if pk and pk.isascii() and pk.isdigit() else -1)

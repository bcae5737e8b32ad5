"""POST/GET /api/v1/sync/: the inventory's sync as a job (inventory.jobs)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors
from core.permissions import IsOperator, IsViewer
from inventory import jobs as sync_jobs
from jobs import services
from jobs.api import answers
from jobs.api.serializers import JobBusySerializer, JobReferenceSerializer


class SyncStatusSerializer(serializers.Serializer):
    """Documentation of inventory.jobs.sync_status()."""

    running = serializers.BooleanField()
    last_started = serializers.DateTimeField(allow_null=True)
    last_finished = serializers.DateTimeField(allow_null=True)
    last_result = serializers.JSONField(allow_null=True)


class SyncView(APIView):
    """GET: {"running", "last_started", "last_finished", "last_result"} (viewers).
    POST: queue a sync -> 202 with the job, 409 with the queued or running one (operators)."""

    def get_permissions(self) -> list[Any]:
        return [IsViewer()] if getattr(self.request, "method", "GET") in SAFE_METHODS else [IsOperator()]

    @extend_schema(summary="The inventory sync's state", responses={200: SyncStatusSerializer})
    def get(self, request: Request) -> Response:
        return Response(sync_jobs.sync_status())

    @extend_schema(
        summary="Sync the inventory with the registry now",
        request=None,
        responses={
            202: JobReferenceSerializer,
            409: OpenApiResponse(JobBusySerializer, description="A sync is already queued or running."),
            **errors(503),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            job = sync_jobs.queue_sync(request=request)
        except services.JobBusy as e:
            detail = f"A sync is already {e.job.status}." if e.job is not None else None
            return answers.busy(request, e, detail)
        except services.JobRequestError as e:
            return answers.refused(request, e)
        return answers.queued(request, job)

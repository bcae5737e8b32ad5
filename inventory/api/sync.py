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
from core.api.serializers import IsoDateTimeField
from core.permissions import IsOperator, IsViewer
from inventory import jobs as sync_jobs
from jobs import services
from jobs.api import answers
from jobs.api.serializers import JobBusySerializer, JobReferenceSerializer


class FirstSyncSerializer(serializers.Serializer[dict[str, Any]]):
    running = serializers.BooleanField()
    job = serializers.IntegerField(allow_null=True)
    progress = serializers.CharField(allow_null=True, help_text="its last log line, e.g. 2,000 of 15,000 tags resolved")


class SyncStatusSerializer(serializers.Serializer[sync_jobs.SyncStatus]):
    running = serializers.BooleanField()
    last_started = IsoDateTimeField(allow_null=True)
    last_finished = IsoDateTimeField(allow_null=True)
    last_result = serializers.JSONField(
        allow_null=True,
        help_text="the last reconcile's figures: requests made by kind (with total), skipped_heads (known tags "
        "not HEADed because events vouch for them), tags added/moved/removed, seconds; or {error}",
    )
    first_sync = FirstSyncSerializer(
        allow_null=True, help_text="until a first sync finishes the inventory is incomplete; null after"
    )


class SyncView(APIView):
    """GET: {"running", "last_started", "last_finished", "last_result", "first_sync"} (viewers).
    POST: queue a sync -> 202 with the job, 409 with the queued or running one (operators)."""

    def get_permissions(self) -> list[Any]:
        return [IsViewer()] if getattr(self.request, "method", "GET") in SAFE_METHODS else [IsOperator()]

    @extend_schema(summary="The inventory sync's state", responses={200: SyncStatusSerializer})
    def get(self, request: Request) -> Response:
        return Response(SyncStatusSerializer(sync_jobs.sync_status()).data)

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
            if e.job is None:
                raise
            # The API's sentence leaves the job's number to the "job" beside it.
            raise services.JobBusy(f"A sync is already {e.job.status}.", e.job) from e
        return answers.queued(request, job)

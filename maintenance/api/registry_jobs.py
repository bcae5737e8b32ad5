"""POST /api/v1/registry/update/ (and verify/): queue a registry job, answer 202 with it, as GC does."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors
from core.permissions import IsOperator
from jobs import services
from jobs.api import answers
from jobs.api.serializers import JobReferenceSerializer
from jobs.models import Job
from maintenance import services as maintenance_services
from maintenance.api import schema


def _queued(request: Request, queue: Callable[[Request], Job]) -> Response:
    """202 with the job; 409 naming what runs; 503 without Redis."""
    try:
        job = queue(request)
    except services.JobBusy as e:
        return answers.busy(request, e)
    except services.JobRequestError as e:
        return answers.refused(request, e)
    return answers.queued(request, job)


def _job_schema(summary: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """The schema both views share: no body; 202 with the job, 409 naming what runs, 503."""
    return extend_schema(
        summary=summary,
        request=None,
        responses={
            202: JobReferenceSerializer,
            409: OpenApiResponse(
                schema.GcConflictSerializer, description="A GC, retention run, pause or registry job is in progress."
            ),
            **errors(503),
        },
    )


class RegistryUpdateView(APIView):
    """POST (no body) -> 202 {"id", "url", "page", "status"}: pull the registry's image tag and
    recreate the container on it, or put the old one back; 409 while a GC, retention run,
    snapshot pause or another registry job is in progress."""

    permission_classes = [IsOperator]

    @_job_schema("Update the registry container to its image tag's newest image")
    def post(self, request: Request) -> Response:
        return _queued(request, maintenance_services.queue_update)


class RegistryVerifyView(APIView):
    """POST (no body) -> 202 {"id", "url", "page", "status"}: HEAD every tag's manifest and blobs,
    run garbage-collect --dry-run; the job's result lists what is missing (repository, tag,
    digest). 409 while a GC, retention run, snapshot pause or another registry job is in progress."""

    permission_classes = [IsOperator]

    @_job_schema("Verify the registry's content (every tag's manifest and blobs, a dry-run GC)")
    def post(self, request: Request) -> Response:
        return _queued(request, maintenance_services.queue_verify)

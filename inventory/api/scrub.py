"""POST /api/v1/scrub/: queue a scrub of the registry's storage files (inventory.scrub)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors
from core.permissions import IsAdmin
from inventory import scrub
from jobs.api import answers
from jobs.api.serializers import JobBusySerializer, JobReferenceSerializer


class ScrubView(APIView):
    """POST: queue a scrub -> 202 with the job; 409 with the queued or running one, or naming
    REGISTRY_DATA_DIR when the storage files cannot be read (admins)."""

    permission_classes = [IsAdmin]

    @extend_schema(
        summary="Scrub the registry's storage: read every blob and check its sha256 and every manifest's references",
        request=None,
        responses={
            202: JobReferenceSerializer,
            409: OpenApiResponse(
                JobBusySerializer,
                description="A scrub is already queued or running (with the job), or the storage files cannot be "
                "read (REGISTRY_DATA_DIR is not set for the worker).",
            ),
            **errors(503),
        },
    )
    def post(self, request: Request) -> Response:
        return answers.queued(request, scrub.queue_scrub(request=request))

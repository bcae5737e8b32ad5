"""GET/POST /api/v1/scrub/: the scrub's state and findings; queue a scrub of the registry's storage files
(inventory.scrub)."""

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
from core.permissions import IsAdmin, IsViewer
from inventory import scrub
from jobs.api import answers
from jobs.api.serializers import JobBusySerializer, JobReferenceSerializer


class FindingSerializer(serializers.Serializer[dict[str, Any]]):
    digest = serializers.CharField()
    problem = serializers.ChoiceField(choices=["damaged", "missing"])
    detail = serializers.CharField(help_text="what was found: the sha256 read, or that the file is absent")
    tags = serializers.ListField(child=serializers.CharField(), help_text="the tags it breaks, repository:tag")
    images = serializers.ListField(child=serializers.CharField(), help_text="the images it breaks, repository@digest")
    advice = serializers.CharField(help_text="what to do (the dashboard never repairs)")


class ScrubRunSerializer(serializers.Serializer[dict[str, Any]]):
    job = JobReferenceSerializer()
    reason = serializers.CharField(help_text="why it ran: manual, schedule or restore check")
    started_at = IsoDateTimeField(allow_null=True)
    finished_at = IsoDateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True, help_text="why it failed; empty when it ran")
    outcome = serializers.CharField(help_text="one sentence: what it found")
    blobs = serializers.IntegerField(allow_null=True, help_text="blobs checked: read + skipped")
    read_blobs = serializers.IntegerField(allow_null=True, help_text="blobs read and their sha256 checked")
    read_bytes = serializers.IntegerField(allow_null=True)
    skipped_blobs = serializers.IntegerField(allow_null=True, help_text="verified before and unchanged since")
    damaged = serializers.IntegerField(allow_null=True, help_text="blobs whose content does not match their digest")
    missing = serializers.IntegerField(allow_null=True, help_text="blobs a manifest references that are absent")
    seconds = serializers.FloatField(allow_null=True)
    max_mbps = serializers.IntegerField(allow_null=True, help_text="SCRUB_MAX_MBPS it ran at (0: no limit)")
    findings = FindingSerializer(many=True, help_text="each damaged or missing blob, the first 500")
    findings_truncated = serializers.BooleanField(help_text="true when there are more than the findings listed")


class ScrubStatusSerializer(serializers.Serializer[scrub.ScrubStatus]):
    files_readable = serializers.BooleanField(
        help_text="whether the registry's storage files (REGISTRY_DATA_DIR) can be read"
    )
    files_reason = serializers.CharField(allow_blank=True, help_text="which files are read, or why none can be")
    running = JobReferenceSerializer(allow_null=True, help_text="the scrub queued or running, if any")
    last = ScrubRunSerializer(allow_null=True, help_text="the newest finished scrub; null before the first")


class ScrubView(APIView):
    """GET: the scrub's state: files readable, the active scrub, the last finished one with its
    findings (viewers). POST: queue a scrub -> 202 with the job; 409 with the queued or running one,
    or naming REGISTRY_DATA_DIR when the storage files cannot be read (admins)."""

    def get_permissions(self) -> list[Any]:
        return [IsViewer()] if getattr(self.request, "method", "GET") in SAFE_METHODS else [IsAdmin()]

    @extend_schema(
        summary="The storage scrub's state and the last scrub's findings (damaged and missing blobs with the tags "
        "they break)",
        responses={200: ScrubStatusSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(ScrubStatusSerializer(scrub.status(request)).data)

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

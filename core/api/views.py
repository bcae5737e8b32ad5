from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core import audit, health
from core.api.schema import errors
from core.api.serializers import AuditEntrySerializer
from core.forms import AuditFilterForm
from core.models import AuditEntry


class HealthCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)


class HealthSerializer(serializers.Serializer):
    """Each part's ``ok`` and ``detail``, with the part's own extra fields (the registry's url, ...)."""

    registry = HealthCheckSerializer()
    docker = HealthCheckSerializer()
    broker = HealthCheckSerializer()


@extend_schema(
    summary="The dashboard's health",
    responses={
        200: HealthSerializer,
        503: OpenApiResponse(HealthSerializer, description="At least one part is not ok: see its detail."),
    },
)
@api_view(["GET"])
def health_view(request: Request) -> Response:
    """200 when the registry, the engine (via the workers) and the broker are all fine, 503 otherwise."""
    report = health.report()
    return Response(report.as_dict(), status=200 if report.ok else 503)


@extend_schema(
    summary="The audit log, newest first",
    parameters=[
        OpenApiParameter("action", OpenApiTypes.STR, description="e.g. delete-tag, gc-queued"),
        OpenApiParameter("outcome", OpenApiTypes.STR, enum=AuditEntry.Outcome.values),
        OpenApiParameter("repository", OpenApiTypes.STR, description="Names starting with this."),
        OpenApiParameter("actor", OpenApiTypes.STR, description="A user name, or system."),
        OpenApiParameter("since", OpenApiTypes.DATE, description="On or after this day (YYYY-MM-DD)."),
        OpenApiParameter("until", OpenApiTypes.DATE, description="On or before this day (YYYY-MM-DD)."),
    ],
    responses={200: AuditEntrySerializer(many=True), **errors(400, 404)},
)
class AuditList(generics.ListAPIView):
    """GET /api/v1/audit/?action=&outcome=&repository=&actor=&since=&until= (paginated)."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError({name: [str(e) for e in messages] for name, messages in form.errors.items()})
        return audit.filtered(form.cleaned_data)

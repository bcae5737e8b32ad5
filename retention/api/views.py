"""/api/v1/retention-policies/: policies (admins change, viewers read), their preview and run (operators)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import body, errors
from core.api.viewsets import ServiceModelViewSet, described
from core.permissions import IsOperator, ViewerReadsAdminWrites
from jobs.api import answers
from jobs.api.serializers import JobReferenceSerializer
from retention import services
from retention.api import schema
from retention.models import RetentionPolicy

_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The policy's id.")
_CONFLICT = OpenApiResponse(
    schema.RunConflictSerializer,
    description="The registry refuses deletes, the preview is stale (nothing deleted), or a GC, registry update, "
    "snapshot pause or another retention run is in progress.",
)


@extend_schema_view(
    **described(
        schema.PolicySerializer, _ID, one="retention policy", many="retention policies", deleted=" and its schedule"
    )
)
class RetentionPolicyViewSet(ServiceModelViewSet[RetentionPolicy]):
    """GET/POST /api/v1/retention-policies/, GET/PUT/PATCH/DELETE .../{id}/, POST .../{id}/preview/ and run/."""

    model = RetentionPolicy
    serializer_class = schema.PolicySerializer
    permission_classes = [ViewerReadsAdminWrites]

    def get_queryset(self) -> QuerySet[RetentionPolicy]:
        return RetentionPolicy.objects.select_related("periodic_task", "periodic_task__crontab")

    def save(self, instance: RetentionPolicy, *, created: bool) -> RetentionPolicy:
        return services.save_policy(instance, self.request, created=created)

    def remove(self, instance: RetentionPolicy) -> None:
        services.delete_policy(instance, self.request)

    @extend_schema(
        summary="Preview a retention policy: per repository what goes and what stays, and why (operators)",
        parameters=[_ID],
        request=None,
        responses={200: schema.PreviewSerializer, **errors(404, 503), 409: _CONFLICT},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsOperator])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        found = services.preview(policy)  # PlanUnavailable carries its status
        return Response(schema.PreviewSerializer(found).data)

    @extend_schema(
        summary="Run a retention policy on a worker (operators)",
        parameters=[_ID],
        request=schema.RunRequestSerializer,
        responses={202: JobReferenceSerializer, **errors(400, 404, 503), 409: _CONFLICT},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsOperator])
    def run(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        data = body(schema.RunRequestSerializer, request) if request.data not in (None, {}) else {}
        job = services.queue_run(policy, data.get("fingerprint"), request)  # JobRequestError: 409, 503
        return answers.queued(request, job)

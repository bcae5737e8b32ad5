from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from core.api.schema import errors
from maintenance.api.serializers import JobSerializer
from maintenance.models import Job


@extend_schema_view(
    list=extend_schema(
        summary="List jobs (GC, statistics), newest first",
        parameters=[
            OpenApiParameter("kind", str, enum=Job.Kind.values),
            OpenApiParameter("status", str, enum=Job.Status.values),
        ],
        responses={200: JobSerializer(many=True), **errors(400, 404)},
    ),
    retrieve=extend_schema(summary="A job, with its output so far", responses={200: JobSerializer, **errors(404)}),
)
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """GET /api/v1/jobs/?kind=gc&status=running and GET /api/v1/jobs/{id}/."""

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        jobs = Job.objects.select_related("user")
        for name, choices in (("kind", Job.Kind.values), ("status", Job.Status.values)):
            value = self.request.query_params.get(name)
            if value:
                if value not in choices:
                    raise ValidationError({name: f"'{value}' is not one of {', '.join(choices)}"})
                jobs = jobs.filter(**{name: value})
        return jobs

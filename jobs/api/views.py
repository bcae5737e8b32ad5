"""GET /api/v1/jobs/ and /api/v1/jobs/{id}/: every kind of job, its output and result."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from core.api.schema import errors, query
from jobs.api.serializers import JobQuerySerializer, JobSerializer
from jobs.models import Job


@extend_schema_view(
    list=extend_schema(
        summary="List jobs (GC, statistics, update, verify, sync, retention), newest first",
        parameters=[JobQuerySerializer],
        responses={200: JobSerializer(many=True), **errors(400, 404)},
    ),
    retrieve=extend_schema(summary="A job, with its output so far", responses={200: JobSerializer, **errors(404)}),
)
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """GET /api/v1/jobs/?kind=gc&status=running and GET /api/v1/jobs/{id}/."""

    serializer_class = JobSerializer
    lookup_value_regex = "[^/]+"  # any id reaches the view: not a number is a JSON 404, not the HTML page

    def get_queryset(self) -> QuerySet[Job]:
        jobs = Job.objects.select_related("user")
        if self.action == "list":
            jobs = jobs.filter(**query(JobQuerySerializer, self.request))
        return jobs

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from maintenance.api.serializers import JobSerializer
from maintenance.models import Job


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

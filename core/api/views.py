from django.db.models import QuerySet
from rest_framework import generics
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core import audit, health
from core.api.serializers import AuditEntrySerializer
from core.forms import AuditFilterForm
from core.models import AuditEntry


@api_view(["GET"])
def health_view(request: Request) -> Response:
    """200 when the registry, the engine (via the workers) and the broker are all fine, 503 otherwise."""
    report = health.report()
    return Response(report.as_dict(), status=200 if report.ok else 503)


class AuditList(generics.ListAPIView):
    """GET /api/v1/audit/?action=&outcome=&repository=&actor=&since=&until= (paginated)."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        form = AuditFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
        return audit.filtered(form.cleaned_data)

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from core import health


@api_view(["GET"])
def health_view(request: Request) -> Response:
    """200 when the registry, the engine (via the workers) and the broker are all fine, 503 otherwise."""
    report = health.report()
    return Response(report.as_dict(), status=200 if report.ok else 503)

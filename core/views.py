from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import health


def dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard shell; its health panel is the htmx fragment of the same view."""
    if request.htmx:
        report = health.report()
        return render(request, "core/_health.html", {"report": report})
    return render(request, "core/dashboard.html")

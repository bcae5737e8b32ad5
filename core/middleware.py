"""Faults of the services behind the dashboard answered as 503 with what to do, and JSON under /api/.

A locked or full database, or Redis refusing a task (``core.errors``), reaches here as an
exception from any view: the answer names the cause and the setting to check instead of a
traceback. The request's writes were in a transaction (``jobs.services.enqueue``, the
audit) or not made, so nothing is half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from core.errors import service_fault

logger = logging.getLogger(__name__)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def fault_response(request: HttpRequest, message: str, status: int = 503) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    # Rendered without the request: the page must not need the database it reports on.
    return HttpResponse(loader.render_to_string("503.html", {"message": message}), status=status)


class ServiceFaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        message = service_fault(exception)
        if message is None:
            return None  # a bug: Django's handler500 (JSON under /api/, core.error_views)
        logger.warning("%s %s answered 503: %s (%s)", request.method, request.path, message, exception)
        return fault_response(request, message)

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
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

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


class ReleaseViews:
    """After an API answer is rendered, its view lets go of what it held (issue 26).

    Django REST framework's view, request and response point at each other (``view.request``,
    ``view.response``, ``request.parser_context["view"]``, ``response.renderer_context["view"]``,
    ``response.renderer_context["response"]``, ``request.parser_context["request"]``):
    a cycle that only Python's garbage collector frees, with everything the view held (its
    paginator, page, queryset and rows). The web's collections then grow with every answer and
    stop every thread while they run (``registry_admin.collector``). Nothing reads a view once its
    answer is rendered, so its attributes are dropped here, and those of the serializer that made
    the answer's data, and the rest is freed as the answer is.
    First in ``MIDDLEWARE``, so that every other middleware has seen the answer before.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        context = getattr(response, "renderer_context", None) or {}
        view = context.get("view")
        if view is not None and getattr(response, "is_rendered", True):
            context.pop("response", None)  # the answer itself, put there as it was rendered
            getattr(context.get("request"), "parser_context", {}).pop("request", None)  # likewise
            view.__dict__.clear()
            data = getattr(response, "data", None)
            for shown in [data, *data.values()] if isinstance(data, dict) else [data]:
                if isinstance(shown, ReturnDict | ReturnList) and shown.serializer is not None:
                    # The serializer and its answer point at each other too (``serializer._data``),
                    # and it holds the rows it was given (``instance``).
                    shown.serializer.__dict__.clear()
        return response

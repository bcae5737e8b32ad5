"""The registry's notifications answered ahead of the rest of the middleware (``inventory.receiving``).

``POST /api/v1/events/`` carries the registry's bearer token, not a session or a CSRF token:
sessions, CSRF, authentication, the login requirement, messages, htmx, CSP and axes have
nothing to do for it, and the registry waits on each answer before it sends the next event.
Placed right after Django's SecurityMiddleware (its HTTPS redirect still applies). Every other
request, and every other method on that path (GET lists the events, for viewers), goes on
through the full stack to the DRF view.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from inventory import receiving


class EventsReceiver:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info == receiving.PATH:
            return receiving.answer(request)
        return self.get_response(request)

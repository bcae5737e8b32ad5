"""The Activity page: the registry's push, pull and delete events, filtered. Thin: services do the work."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from core.roles import Role, role_required
from core.types import HtmxHttpRequest
from inventory import services
from inventory.forms import ActivityFilterForm
from inventory.models import Event

EVENTS_PER_PAGE = 100


@role_required(Role.VIEWER)
def activity(request: HtmxHttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
        found = Event.objects.none()
    else:
        found = services.recent_events(form.cleaned_data if form.is_bound else {})
    page = Paginator(found, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "events_on": bool(settings.REGISTRY_EVENTS_TOKEN),
        "retention_days": settings.EVENTS_RETENTION_DAYS,
    }
    template = "inventory/_activity_table.html" if request.htmx else "inventory/activity.html"
    return render(request, template, context, status=status)

"""The Activity page: the registry's push, pull and delete events, filtered. Thin: services do the work."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from core.roles import Role, role_required
from core.types import HtmxHttpRequest
from inventory import activity as rows_of
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
    # A client's pull or push is one row; its blob requests show one by one only when asked for.
    show_blobs = bool(form.is_bound and form.is_valid() and form.cleaned_data.get("blobs"))
    if not show_blobs:
        found = rows_of.without_blobs(found)
    page = Paginator(found, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    events = list(page)
    rows = rows_of.single_rows(events) if show_blobs else rows_of.group(events, rows_of.blobs_around(events))
    filtered = form.is_bound and any(
        value for name, value in request.GET.items() if name not in ("page", "blobs") and value
    )
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "show_blobs": show_blobs,
        "filtered": filtered,
        "events_on": bool(settings.REGISTRY_EVENTS_TOKEN),
        "retention_days": settings.EVENTS_RETENTION_DAYS,
    }
    template = "inventory/_activity_table.html" if request.htmx else "inventory/activity.html"
    return render(request, template, context, status=status)

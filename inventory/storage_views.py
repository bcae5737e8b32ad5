"""The Storage page: where the registry's space goes, from the inventory and the stored statistics.

One view serves the page and, for htmx, its per-repository table (paged and sorted in SQL).
The disk figures come from ``disk``, which the URLconf mounting the page passes
(``registry_admin.urls``: the statistics samples and the GC's runs are maintenance's); the
figures at the top are the storage picture (``storage.picture``) every page shows.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from core.roles import Role, role_required
from core.types import HtmxHttpRequest
from inventory import storage

REPOSITORIES_PER_PAGE = 50
# The table's sortable columns: ordering -> heading.
COLUMNS = {"name": "Repository", "referenced": "Referenced", "unique": "Only here", "shared": "Shared"}


@role_required(Role.VIEWER)
def storage_page(request: HtmxHttpRequest, disk: storage.DiskFiguresSource) -> HttpResponse:
    ordering = request.GET.get("sort", "referenced")
    if ordering not in storage.ORDERINGS:
        ordering = "referenced"
    search = request.GET.get("q", "").strip()[:255]
    refreshed = "" if request.htmx else storage.bring_up_to_date()
    with storage.measured() as measure:
        usages: Any = measure.repositories(ordering, search)  # counted and sliced in SQL
        page = Paginator(usages, REPOSITORIES_PER_PAGE).get_page(request.GET.get("page"))
        context: dict[str, Any] = {"page": page, "sort": ordering, "search": search, "columns": COLUMNS}
        if request.htmx:
            return render(request, "inventory/_storage_repositories.html", context)
        figures = disk()
        points = figures.growth
        change = storage.growth_bytes(points)
        found, namespace_count = measure.namespaces()
        totals = measure.totals()
        context.update(
            sample=figures.sample,
            totals=totals,
            picture=storage.picture(figures, totals.referenced_bytes, refreshed),
            namespaces=found,
            namespace_count=namespace_count,
            top=measure.top_repositories(),
            dry_run=figures.dry_run,
            growth={"points": points, "bytes": change, "shrunk": -change if change else 0, "days": storage.GROWTH_DAYS},
            idle=measure.not_pulled(),
            files=storage.files_figures(),
        )
    return render(request, "inventory/storage.html", context)

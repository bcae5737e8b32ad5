"""GET /api/v1/storage/: where the registry's space goes, from the inventory (no registry request).

The per-repository figures are paged (``page``, ``page_size``) and sorted (``ordering``); the
rest of the answer (disk, namespaces, top repositories, the last GC dry run, growth, images
nobody pulled) comes with every page. The disk, growth and dry-run figures come from
``disk_figures``, which the URLconf mounting the view passes (``maintenance.api.urls``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import errors, query
from core.pagination import PageNumberPagination
from inventory import storage
from inventory.api import schema


def _sample(sample: Any) -> dict[str, Any] | None:
    if sample is None:
        return None
    return {"bytes": sample.storage_bytes, "blobs": sample.blob_count, "collected_at": sample.collected_at.isoformat()}


def _dry_run(request: Request, job: Any) -> dict[str, Any] | None:
    if job is None:
        return None
    result = job.result or {}
    return {
        "job": job.pk,
        "url": request.build_absolute_uri(f"/api/v1/jobs/{job.pk}/"),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "bytes_eligible": result.get("bytes_eligible"),
        "blobs_eligible": result.get("blobs_eligible"),
        "manifests_eligible": result.get("manifests_eligible"),
        "delete_untagged": bool((job.params or {}).get("delete_untagged")),
    }


def usage_dict(usage: storage.Usage) -> dict[str, Any]:
    return usage.as_dict()


def namespace_dict(usage: storage.Usage) -> dict[str, Any]:
    return {**usage.as_dict(), "repositories": usage.repositories}


class StorageView(APIView):
    """GET /api/v1/storage/?ordering=referenced|unique|shared|name&search=&page=&page_size="""

    pagination_class = PageNumberPagination
    #: Given by ``as_view(disk_figures=...)`` where the view is mounted.
    disk_figures: storage.DiskFiguresSource | None = None

    @extend_schema(
        summary="Where the space goes",
        description=(
            "Stored bytes on disk (the newest statistics sample), and from the inventory: per repository "
            "(paged) and per namespace the bytes of the blobs it references, how many only it references "
            "(what deleting it gives back after a garbage collection) and how many it shares; the top "
            "repositories; what the last GC dry run found; 30 days of growth; images nobody pulled for 90 "
            "days. Attached artifacts count with their subject. Asks the registry nothing. ``files``: "
            "which source the inventory reads (the registry's storage files or HTTP) and why; with the files, "
            "the bytes and blobs on disk, what a GC would free with and without --delete-untagged (to the "
            "byte, as a dry run would find), untagged manifests per repository and upload leftovers. ``picture``: "
            "on disk = referenced by tags + reclaimable by a default GC + kept untagged + the registry's own "
            "directories and links + uploads in progress, each part with its source and time, recomputed after "
            "every delete, GC and sync; when the inventory cannot vouch for itself (an events gap, or the first "
            "sync not finished), the repositories are read from the registry first and ``picture.refreshed`` says so."
        ),
        parameters=[schema.StorageQuerySerializer],
        responses={200: schema.StorageSerializer, **errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
        if self.disk_figures is None:
            raise ImproperlyConfigured("StorageView needs as_view(disk_figures=...): where the disk figures come from.")
        params = query(schema.StorageQuerySerializer, request)
        refreshed = storage.bring_up_to_date()
        with storage.measured() as measure:
            usages: Any = measure.repositories(params["ordering"], params.get("search", ""))  # paged in SQL
            paginator = self.pagination_class()
            page: list[storage.Usage] | None = paginator.paginate_queryset(usages, request, view=self)
            response = paginator.get_paginated_response([usage_dict(usage) for usage in page or []])
            totals = measure.totals()
            found, namespace_count = measure.namespaces()
            idle = measure.not_pulled()
            top = measure.top_repositories()
        disk = self.disk_figures()
        points = disk.growth
        answer = dict(response.data)
        answer.update(
            {
                "stored": _sample(disk.sample),
                "referenced_bytes": totals.referenced_bytes,
                "shared_bytes": totals.shared_bytes,
                "blobs": totals.blobs,
                "repositories": totals.repositories,
                "namespaces": [namespace_dict(usage) for usage in found],
                "namespace_count": namespace_count,
                "top_repositories": [usage_dict(usage) for usage in top],
                "gc_dry_run": _dry_run(request, disk.dry_run),
                "growth": {"days": storage.GROWTH_DAYS, "bytes": storage.growth_bytes(points), "points": points},
                "files": storage.files_figures().as_dict(),
                "not_pulled": {
                    "days": idle.days,
                    "images": idle.count,
                    "unique_bytes": idle.unique_bytes,
                    "shown": [image.as_dict() for image in idle.shown],
                },
                "picture": storage.picture(disk, totals.referenced_bytes, refreshed).as_dict(),
            }
        )
        response.data = schema.StorageSerializer(answer).data
        return response

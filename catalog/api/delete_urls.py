"""Routes of the delete API (combined with the catalog's GET routes at merge)."""

from django.urls import path

from catalog.api import deletes

urlpatterns = [
    path("repositories/<path:name>/tags/<str:tag>/", deletes.TagDelete.as_view(), name="api-tag-delete"),
    path(
        "repositories/<path:name>/manifests/<str:digest>/",
        deletes.ManifestDelete.as_view(),
        name="api-manifest-delete",
    ),
    path("repositories/<path:name>/bulk-delete/", deletes.BulkDelete.as_view(), name="api-bulk-delete"),
]

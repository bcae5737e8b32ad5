"""The catalog's API routes under /api/v1/.

Repository names contain slashes (``team/app/api``), so the routes are regular expressions
that take the longest name before a fixed suffix (``/tags/``, ``/tags/<tag>/``,
``/manifests/<digest>/``); names and tags are validated in the views (400, not 404).
The list route is tried first: a repository whose last component is ``tags`` lists its tags
at ``.../tags/tags/`` (so a tag named ``tags`` can only be reached in repositories that do
not end that way). ``api-tag`` and ``api-manifest`` answer GET (the catalog) and DELETE
(``catalog.api.deletes``, whose classes extend the GET views); no route here ends in
``bulk-delete/``.
"""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from catalog.api import deletes, protection, views

router = SimpleRouter()
router.register("protected-tags", protection.ProtectedTagViewSet, basename="api-protected-tag")

NAME = r"(?P<name>.+)"

urlpatterns = [
    path("repositories/", views.RepositoryList.as_view(), name="api-repositories"),
    re_path(rf"^repositories/{NAME}/tags/$", views.TagList.as_view(), name="api-tags"),
    re_path(rf"^repositories/{NAME}/tags/(?P<tag>[^/]+)/$", deletes.TagDetail.as_view(), name="api-tag"),
    re_path(
        rf"^repositories/{NAME}/manifests/(?P<digest>[^/]+)/$", deletes.ManifestDetail.as_view(), name="api-manifest"
    ),
    re_path(rf"^repositories/{NAME}/bulk-delete/$", deletes.BulkDelete.as_view(), name="api-bulk-delete"),
    *router.urls,
]

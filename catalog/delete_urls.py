"""Routes of the delete dialogs, under /catalog/ (before the catalog's catch-all ``r/<name>/``).

``/-/`` cannot occur in a repository name (every component starts with a letter or digit).
"""

from django.urls import path

from catalog import delete_views

urlpatterns = [
    path("r/<path:name>/-/delete/", delete_views.delete_tags, name="delete-tags"),
    path("r/<path:name>/-/delete/m/<str:digest>/", delete_views.delete_manifest, name="delete-manifest"),
]

"""Catalog pages. Names contain slashes: the ``/-/`` separator cannot occur in a repository
name (every path component starts with a letter or digit), so the routes are unambiguous."""

from django.urls import path

from catalog import delete_views, protection_views, views

app_name = "catalog"

urlpatterns = [
    path("", views.repositories, name="repositories"),
    path("push-here/", views.push_here, name="push-here"),
    path("protected-tags/", protection_views.protected_tags, name="protected-tags"),
    path(
        "protected-tags/<int:rule_id>/delete/",
        protection_views.delete_protected_tag,
        name="delete-protected-tag",
    ),
    path("r/<path:name>/-/t/<str:tag>/", views.image_by_tag, name="image"),
    path("r/<path:name>/-/m/<str:digest>/", views.image_by_digest, name="manifest"),
    path("r/<path:name>/-/delete/", delete_views.delete_tags, name="delete-tags"),
    path("r/<path:name>/-/delete/m/<str:digest>/", delete_views.delete_manifest, name="delete-manifest"),
    path("r/<path:name>/", views.tags, name="tags"),
]

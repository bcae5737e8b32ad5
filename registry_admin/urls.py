from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from inventory import storage_views
from inventory.api import storage as storage_api
from maintenance import stats

urlpatterns = [
    path("", include("core.urls")),
    # Browsers ask for /favicon.ico where a page names no icon (error pages): the static file.
    # Resolved lazily: the manifest storage has no entry before collectstatic, and `manage.py
    # check` or `migrate` must not need one.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("maintenance/jobs/", include("jobs.urls")),
    # The inventory's Storage page and API, given the disk figures only maintenance measures (the
    # statistics sample, the GC's dry run and last run): wired here so neither app imports the other's views.
    path("maintenance/storage/", storage_views.storage_page, {"disk": stats.disk_figures}, name="storage"),
    path("maintenance/", include("maintenance.urls")),
    path("registry/", include("maintenance.registry_urls")),
    path("catalog/", include("catalog.urls")),
    path("activity/", include("inventory.urls")),
    path("retention/", include("retention.urls")),
    # The registry's token server (/auth/token: docker clients come with HTTP Basic), robots and
    # anonymous pulls (/access/), the token requests (/activity/tokens/). Issue 23.
    path("", include("access.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include("core.api.urls")),
    path("api/v1/", include("jobs.api.urls")),
    path("api/v1/storage/", storage_api.StorageView.as_view(disk_figures=stats.disk_figures), name="api-storage"),
    path("api/v1/", include("maintenance.api.urls")),
    path("api/v1/", include("catalog.api.urls")),
    path("api/v1/", include("inventory.api.urls")),
    path("api/v1/", include("retention.api.urls")),
    path("api/v1/", include("access.api.urls")),
    path("api/v1/", include("notifications.api.urls")),
]

# Under /api/ every error is {"detail": ...} (core.error_views), elsewhere the HTML pages.
handler400 = "core.error_views.bad_request"
handler403 = "core.error_views.permission_denied"
handler404 = "core.error_views.page_not_found"
handler500 = "core.error_views.server_error"

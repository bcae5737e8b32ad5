from django.urls import path
from rest_framework.routers import SimpleRouter

from maintenance.api import gc, registry_jobs, stats

router = SimpleRouter()
router.register("schedules", gc.ScheduleViewSet, basename="api-schedule")

urlpatterns = [
    path("gc/", gc.GarbageCollectionView.as_view(), name="api-gc"),
    path("registry/update/", registry_jobs.RegistryUpdateView.as_view(), name="api-registry-update"),
    path("registry/verify/", registry_jobs.RegistryVerifyView.as_view(), name="api-registry-verify"),
    *router.urls,
    # Statistics, the registry container's actions and the diagnostics.
    *stats.urlpatterns,
]

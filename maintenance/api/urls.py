from django.urls import path
from rest_framework.routers import SimpleRouter

from inventory.api import storage
from maintenance import stats as disk
from maintenance.api import gc, registry_jobs, stats

router = SimpleRouter()
router.register("schedules", gc.ScheduleViewSet, basename="api-schedule")

urlpatterns = [
    path("gc/", gc.GarbageCollectionView.as_view(), name="api-gc"),
    # The inventory's storage figures, with the disk figures only maintenance measures.
    path("storage/", storage.StorageView.as_view(disk_figures=disk.disk_figures), name="api-storage"),
    path("registry/update/", registry_jobs.RegistryUpdateView.as_view(), name="api-registry-update"),
    path("registry/verify/", registry_jobs.RegistryVerifyView.as_view(), name="api-registry-verify"),
    *router.urls,
    # Statistics, the registry container's actions and the diagnostics.
    *stats.urlpatterns,
]

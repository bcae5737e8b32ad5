from rest_framework.routers import SimpleRouter

from maintenance.api import stats, views

router = SimpleRouter()
router.register("jobs", views.JobViewSet, basename="api-job")

urlpatterns = router.urls

# Statistics, the registry container's actions and the diagnostics (issue 6).
urlpatterns += stats.urlpatterns

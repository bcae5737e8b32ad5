from django.urls import path
from rest_framework.routers import SimpleRouter

from maintenance.api import gc, views

router = SimpleRouter()
router.register("jobs", views.JobViewSet, basename="api-job")
router.register("schedules", gc.ScheduleViewSet, basename="api-schedule")

urlpatterns = [
    path("gc/", gc.GarbageCollectionView.as_view(), name="api-gc"),
    *router.urls,
]

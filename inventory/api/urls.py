from django.urls import path

from inventory.api import scrub, sync, views

urlpatterns = [
    path("events/", views.EventsView.as_view(), name="api-events"),
    path("events/health/", views.EventsHealthView.as_view(), name="api-events-health"),
    path("sync/", sync.SyncView.as_view(), name="api-sync"),
    path("scrub/", scrub.ScrubView.as_view(), name="api-scrub"),
]

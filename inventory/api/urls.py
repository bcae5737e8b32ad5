from django.urls import path

from inventory.api import sync, views

urlpatterns = [
    path("events/", views.EventsView.as_view(), name="api-events"),
    path("sync/", sync.SyncView.as_view(), name="api-sync"),
]

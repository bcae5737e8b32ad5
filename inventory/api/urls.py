from django.urls import path

from inventory.api import views

urlpatterns = [
    path("sync/", views.SyncView.as_view(), name="api-sync"),
    path("events/", views.EventsView.as_view(), name="api-events"),
]

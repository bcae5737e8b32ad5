from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.activity, name="activity"),
    path("sync/", views.sync_now, name="sync"),
]

from django.urls import path

from core.api import views

urlpatterns = [
    path("health/", views.health_view, name="api-health"),
    path("audit/", views.AuditList.as_view(), name="api-audit"),
]

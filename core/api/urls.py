from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView

from core.api import views

urlpatterns = [
    path("health/", views.health_view, name="api-health"),
    path("registry/test-connection/", views.ConnectionTest.as_view(), name="api-registry-test-connection"),
    path("audit/", views.AuditList.as_view(), name="api-audit"),
    # The OpenAPI description (YAML, or JSON by Accept: application/json or ?format=json) and
    # Swagger UI, whose script is a file of its own (?script) so the CSP needs no inline script.
    path("schema/", views.SchemaView.as_view(), name="api-schema"),
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]

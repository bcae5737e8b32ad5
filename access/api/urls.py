from django.urls import path
from rest_framework.routers import SimpleRouter

from access.api import views

router = SimpleRouter()
router.register("robots", views.RobotViewSet, basename="api-robot")
router.register("anonymous-pulls", views.AnonymousPullViewSet, basename="api-anonymous-pull")

urlpatterns = [
    *router.urls,
    path("token-requests/", views.TokenRequestList.as_view(), name="api-token-requests"),
    path("registry/login/", views.RegistryLogin.as_view(), name="api-registry-login"),
]

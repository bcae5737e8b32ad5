from rest_framework.routers import SimpleRouter

from retention.api import views

router = SimpleRouter()
router.register("retention-policies", views.RetentionPolicyViewSet, basename="api-retention-policy")

urlpatterns = router.urls

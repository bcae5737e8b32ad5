from rest_framework.routers import SimpleRouter

from notifications.api import views

router = SimpleRouter()
router.register("notifications/channels", views.ChannelViewSet, basename="api-notification-channel")
router.register("notifications/rules", views.RuleViewSet, basename="api-notification-rule")

urlpatterns = router.urls

from django.urls import path

from access import views

app_name = "access"

# Mounted at the root (registry_admin/urls.py): the token endpoint under /auth/, the pages under /access/.
urlpatterns = [
    path("auth/token", views.token, name="token"),
    path("auth/certificate.pem", views.certificate, name="certificate"),
    path("access/", views.robots, name="robots"),
    path("access/robots/<int:pk>/revoke/", views.robot_revoke, name="robot-revoke"),
    path("access/robots/<int:pk>/delete/", views.robot_delete, name="robot-delete"),
    path("access/anonymous/", views.anonymous_add, name="anonymous-add"),
    path("access/anonymous/<int:pk>/remove/", views.anonymous_remove, name="anonymous-remove"),
    path("access/registry-login/", views.registry_login, name="registry-login"),
    path("activity/tokens/", views.token_requests, name="token-requests"),
]

from django.urls import path

from core import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("setup/test-connection/", views.test_connection, name="test-connection"),
    path("audit/", views.audit_log, name="audit"),
    path("-/alive", views.alive, name="alive"),
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]

from django.urls import path

from retention import views

app_name = "retention"

urlpatterns = [
    path("", views.policies, name="policies"),
    path("new/", views.policy_create, name="create"),
    path("<int:policy_id>/", views.policy, name="policy"),
    path("<int:policy_id>/edit/", views.policy_edit, name="edit"),
    path("<int:policy_id>/delete/", views.policy_delete, name="delete"),
    path("<int:policy_id>/preview/", views.preview, name="preview"),
    path("<int:policy_id>/run/", views.run, name="run"),
]

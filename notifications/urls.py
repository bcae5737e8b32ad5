from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.index, name="index"),
    path("failing/", views.failing, name="failing"),
    path("channels/new/", views.channel_create, name="channel-create"),
    path("channels/<int:channel_id>/", views.channel, name="channel"),
    path("channels/<int:channel_id>/edit/", views.channel_edit, name="channel-edit"),
    path("channels/<int:channel_id>/delete/", views.channel_delete, name="channel-delete"),
    path("channels/<int:channel_id>/test/", views.channel_test, name="channel-test"),
    path("channels/<int:channel_id>/secret/", views.channel_rotate, name="channel-rotate"),
    path("rules/new/", views.rule_create, name="rule-create"),
    path("rules/<int:rule_id>/", views.rule, name="rule"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule-delete"),
]

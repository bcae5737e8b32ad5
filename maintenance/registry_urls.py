from django.urls import path

from maintenance import registry_views as views

urlpatterns = [
    path("", views.registry, name="registry"),
    path("actions/<str:action>/", views.registry_action, name="registry-action"),
    path("jobs/<str:kind>/", views.registry_job, name="registry-job"),
    path("scrub/", views.scrub_now, name="registry-scrub"),
    path("stats/collect/", views.collect_now, name="stats-collect"),
    path("stats/interval/", views.stats_interval, name="stats-interval"),
    path("diagnostics/", views.diagnostics_page, name="diagnostics"),
]

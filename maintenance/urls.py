from django.urls import path

from maintenance import views

urlpatterns = [
    path("", views.maintenance, name="maintenance"),
    path("gc/", views.gc_start, name="gc-start"),
    path("schedules/", views.schedule_create, name="gc-schedule-create"),
    path("schedules/<int:schedule_id>/toggle/", views.schedule_toggle, name="gc-schedule-toggle"),
    path("schedules/<int:schedule_id>/delete/", views.schedule_delete, name="gc-schedule-delete"),
    path("sync/", views.sync_now, name="sync-now"),
    path("summary/", views.dashboard_summary, name="dashboard-summary"),
]

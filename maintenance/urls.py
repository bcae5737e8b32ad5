from django.urls import path

from inventory import storage_views
from maintenance import stats, views

urlpatterns = [
    path("", views.maintenance, name="maintenance"),
    path("gc/", views.gc_start, name="gc-start"),
    path("schedules/", views.schedule_create, name="gc-schedule-create"),
    path("schedules/<int:schedule_id>/toggle/", views.schedule_toggle, name="gc-schedule-toggle"),
    path("schedules/<int:schedule_id>/delete/", views.schedule_delete, name="gc-schedule-delete"),
    path("sync/", views.sync_now, name="sync-now"),
    path("summary/", views.dashboard_summary, name="dashboard-summary"),
    # The inventory's Storage page, with the disk figures only maintenance measures.
    path("storage/", storage_views.storage_page, {"disk": stats.disk_figures}, name="storage"),
]

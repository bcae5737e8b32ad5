from django.urls import path

from maintenance import views

urlpatterns = [
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
]

from django.urls import path

from jobs import views

# Under /maintenance/jobs/ (registry_admin.urls), where job pages have always been.
urlpatterns = [
    path("<int:job_id>/", views.job_detail, name="job"),
]

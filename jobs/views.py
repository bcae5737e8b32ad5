"""A job's page: its output and result, refreshed by htmx while it runs (every kind)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from core.roles import Role, role_required
from core.types import HtmxHttpRequest
from jobs.models import Job


@role_required(Role.VIEWER)
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """A job with its output; while it runs, the htmx fragment of this view refreshes itself."""
    job = get_object_or_404(Job.objects.select_related("user"), pk=job_id)
    template = "jobs/_job.html" if request.htmx else "jobs/job.html"
    return render(request, template, {"job": job})
